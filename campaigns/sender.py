"""The sender task: claim due outbox rows, apply the send-time rules, render, hand to the store's
backend, record the outcome. Knows nothing about flows or campaigns beyond the row's ids.

Outcomes per row: ``sent`` (provider message id stored, ``email.sent`` on the timeline), ``skipped``
(reason), deferred (quiet hours, rate limit: back to ``queued`` with a later ``next_attempt_at``),
retried (provider error: back to ``queued`` with exponential backoff, ``MAX_ATTEMPTS`` in all),
``failed`` (template error, no provider, the provider refused, attempts exhausted) or ``unknown`` (in
doubt: the provider may have it and cannot tell us; see below). What each provider error means:
``campaigns.provider_errors``.

Exactly once, as far as the provider allows:

- Before a row is handed to the provider, one transaction commits its ``send_started_at`` together with
  the outcomes decided since the last hand-over (the previous row's provider id and ``sent``, skips,
  deferrals). So the provider's answer for a row is committed right after the next row is rendered, and
  a worker killed at any moment leaves at most **one** row handed over without an outcome.
- A dead worker's rows (``campaigns.outbox``: no hand-over for ``STALE_AFTER``) are resolved by
  ``recover_interrupted`` at the start of every run: rows never handed over are queued again; the row in
  doubt is asked again with our idempotency key where the provider takes one (Resend, Brevo:
  ``campaigns.idempotency``), else it follows the store's ``EmailProvider.in_doubt`` setting (by default
  marketing mail is not resent: the row becomes ``unknown`` and the admin's message list shows it, with
  a "Send again" action); ``sent`` rows whose ``email.sent`` event the dead worker did not record get it.
  A row in doubt is never marked ``failed``: it may have been delivered.
- A provider error is contained to its store: the other stores' rows of the batch go on.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from email.utils import formataddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.models import Product, Store
from shopconnect.timeline.record import record_events

from . import coupons, outbox, policy
from .context import build_context, event_lines
from .copies import copy_of, keep_copies
from .idempotency import IDEMPOTENT_KINDS, add_key, provider_key
from .ledger import Ledger
from .links import track
from .models import HOLDOUT, CampaignVariant, EmailProvider, EmailTemplate, Message
from .provider_errors import IN_DOUBT, MESSAGE, STORE, TRANSIENT, Fault, classify
from .providers import TRACKING_SWITCH_KINDS, connection_for, sending_budget
from .rendering import Rendered, TemplateProblem, render_email
from .tokens import unsubscribe_url

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
BATCH_SIZE = 200
WORKER_STOPPED = "unknown: worker stopped during send"


def backoff(attempts: int) -> timedelta:
    return timedelta(minutes=2 ** min(attempts, 8))


def time_budget() -> float:
    """Seconds a run may spend before it stops claiming: well inside the task cluster's timeout, after
    which django-q2 would kill the worker mid-send."""
    return max(int(settings.Q_CLUSTER.get("timeout") or 300) * 0.6, 10)


def send_due_messages(batch_size: int = BATCH_SIZE, max_batches: int | None = None) -> dict[str, int]:
    """The scheduled task: send every due message. Safe to run concurrently and repeatedly."""
    totals: Counter[str] = Counter(recover_interrupted())
    deadline = time.monotonic() + time_budget()
    batches = 0
    while (max_batches is None or batches < max_batches) and time.monotonic() < deadline:
        batch = outbox.claim_batch(batch_size)
        if not batch:
            break
        batches += 1
        by_store: dict[int, list[Message]] = defaultdict(list)
        for message in batch:
            by_store[message.store_id].append(message)
        for messages in by_store.values():
            try:
                totals.update(send_store_batch(messages, deadline))
            except Exception:  # noqa: BLE001 - one store's trouble never stops the others' mail
                log.exception("sending store %s's batch failed; its unsent rows are queued again",
                              messages[0].store_id)
                totals["requeued"] += outbox.release([m.pk for m in messages],
                                                     "queued again after an error while sending its batch")
    return {k: v for k, v in totals.items() if v}


def recover_interrupted(now: datetime | None = None) -> Counter[str]:
    """Resolve the rows of sending workers that died (see the module docstring)."""
    now = now or timezone.now()
    counts: Counter[str] = Counter()
    counts["requeued"] = outbox.requeue_unstarted(now)
    for message in outbox.in_doubt(now):
        provider = getattr(message.store, "email_provider", None)
        state, fields = in_doubt_outcome(message, provider, WORKER_STOPPED, now)
        counts["in_doubt_" + state] += Message.objects.filter(
            pk=message.pk, state=Message.State.SENDING, claim_token=message.claim_token).update(state=state, **fields)
    by_store: dict[int, list[Message]] = defaultdict(list)
    for message in outbox.unrecorded_sends(now):
        by_store[message.store_id].append(message)
    for store_id, messages in by_store.items():
        _record_sent(Store.objects.get(pk=store_id), messages)
        counts["sent_recorded"] += len(messages)
    return counts


def in_doubt_outcome(message: Message, provider: EmailProvider | None, why: str, now: datetime,
                     wait: bool = False) -> tuple[str, dict]:
    """What becomes of a row the provider may have accepted: asked again with our key where the provider
    deduplicates on it, else as the store's setting says; never ``failed`` (it may have been delivered)."""
    attempts = message.attempts + 1
    policy_ = provider.in_doubt if provider is not None else EmailProvider.InDoubt.KEEP
    if provider is not None and provider.kind in IDEMPOTENT_KINDS:
        again, note = True, f"{why}; asked again with our idempotency key (the provider sends it once)"
    elif policy_ == EmailProvider.InDoubt.RESEND or (policy_ == EmailProvider.InDoubt.NON_MARKETING
                                                     and not message.marketing):
        again, note = True, f"{why}; sent again as the store's setting says (it may arrive twice)"
    else:
        again, note = False, why
    if again and attempts < MAX_ATTEMPTS:
        when = now + backoff(attempts) if wait else now  # (a dead worker's row has waited STALE_AFTER already)
        return Message.State.QUEUED, {"attempts": attempts, "next_attempt_at": when, "note": note[:300],
                                      "claim_token": ""}
    return Message.State.UNKNOWN, {"attempts": attempts, "note": note[:300], "claim_token": ""}


def send_store_batch(messages: list[Message], deadline: float | None = None) -> Counter[str]:
    ledger = Ledger(messages[0].claim_token)
    try:
        return _StoreBatch(messages, ledger, deadline).run()
    finally:
        ledger.flush()


class _StoreBatch:
    """One store's share of a claimed batch."""

    def __init__(self, messages: list[Message], ledger: Ledger, deadline: float | None) -> None:
        self.messages, self.ledger, self.deadline = messages, ledger, deadline
        self.store = messages[0].store
        self.counts: Counter[str] = Counter()
        self.now = timezone.now()
        self.provider = EmailProvider.objects.filter(store=self.store).select_related("store").first()
        self.backend = None

    def run(self) -> Counter[str]:
        if self.provider is None:
            for m in self.messages:
                self.ledger.add(m, Message.State.SKIPPED, skip_reason="store has no email provider")
            self.counts["skipped"] += len(self.messages)
            return self.counts
        try:
            self.backend = connection_for(self.provider)
            self.backend.open()
        except Exception as exc:  # noqa: BLE001 - missing library, bad configuration, provider down
            fault = classify(exc, handed_over=False)
            self._provider_failed(fault, self.messages)
            return self.counts
        try:
            self._send_all()
        finally:
            self.backend.close()
        return self.counts

    def _send_all(self) -> None:
        provider, now = self.provider, self.now
        budget = sending_budget(provider, now)
        facts = policy.BatchFacts(self.store, self.messages, provider, now)
        products = batch_products(self.store, self.messages)
        variants = batch_variants(self.messages)
        sent: list[tuple[Message, str, datetime]] = []
        copies = []  # what each sent message looked like (campaigns.copies), kept after the outcomes
        ordered = list(policy.in_order(self.messages))  # order follow-ups, then flow emails, then campaigns
        try:
            for index, message in enumerate(ordered):
                if self.deadline is not None and time.monotonic() > self.deadline:
                    self._give_back(ordered[index:], "the run's time was up; queued for the next run")
                    break
                decision = policy.decide(message, provider, facts, now)
                if isinstance(decision, policy.Skip):
                    self.ledger.add(message, Message.State.SKIPPED, skip_reason=decision.reason[:200])
                    self.counts["skipped"] += 1
                    continue
                if isinstance(decision, policy.Defer):
                    self.ledger.add(message, Message.State.QUEUED, next_attempt_at=decision.until, note=decision.note)
                    self.counts["deferred"] += 1
                    continue
                if budget is not None and budget <= 0:
                    self.ledger.add(message, Message.State.QUEUED, next_attempt_at=now + timedelta(minutes=1),
                                    note="store sending rate limit reached")
                    self.counts["rate_limited"] += 1
                    continue
                variant = variants.get((message.campaign_id, message.variant))
                try:  # a unique discount code, created on the platform once per message (campaigns.coupons)
                    coupons.code_for(message, template_for(message, variant))
                except coupons.CodeUnavailable as exc:
                    if exc.transient:
                        self.counts["retried" if _retry(self.ledger, message, str(exc), now) else "failed"] += 1
                    else:
                        self.ledger.add(message, Message.State.FAILED, note=str(exc)[:300])
                        self.counts["failed"] += 1
                    continue
                try:
                    email, rendered, links = build_email(message, provider, self.backend, products, variant)
                except TemplateProblem as exc:
                    self.ledger.add(message, Message.State.FAILED, note=f"template error: {exc}"[:300])
                    self.counts["failed"] += 1
                    continue
                if not self.ledger.hand_over(message, timezone.now()):
                    log.warning("store %s: this worker's claim was recovered as dead; it stops", self.store.pk)
                    break  # the rest was queued again by the recovery: another worker sends it
                try:
                    self.backend.send_messages([email])
                except Exception as exc:  # noqa: BLE001 - every provider error has a meaning (provider_errors)
                    fault = classify(exc, handed_over=True)
                    log.warning("provider error sending message %s: %s (%s)", message.pk, type(exc).__name__,
                                fault.kind)
                    if not self._after_fault(message, fault, ordered[index + 1:]):
                        break
                    continue
                status = getattr(email, "anymail_status", None)
                provider_id = (status.message_id if status else None) or email.extra_headers["Message-ID"].strip("<>")
                sent_at = timezone.now()
                self.ledger.add(message, Message.State.SENT, sent_at=sent_at,
                                provider_message_id=str(provider_id)[:255], subject=rendered.subject[:300],
                                links=links, attempts=message.attempts + 1, note="")
                facts.mark_sent(message, sent_at)
                if budget is not None:
                    budget -= 1
                self.counts["sent"] += 1
                sent.append((message, rendered.subject, sent_at))
                copies.append(copy_of(message, rendered, sent_at))
        finally:
            self.ledger.flush()
            facts.flush()
        keep_copies(copies)
        if sent:
            _record_sent(self.store, [m for m, _, _ in sent], {m.pk: (s, at) for m, s, at in sent})
            if provider.problem:
                EmailProvider.objects.filter(pk=provider.pk).update(problem="", problem_at=None)

    def _after_fault(self, message: Message, fault: Fault, rest: list[Message]) -> bool:
        """Record a failed hand-over; False when the store's remaining rows cannot be sent now."""
        if fault.kind == IN_DOUBT:
            state, fields = in_doubt_outcome(message, self.provider, f"unknown: {fault.reason}", self.now, wait=True)
            self.ledger.add(message, state, **fields)
            self.counts["retried" if state == Message.State.QUEUED else "in_doubt"] += 1
        elif fault.kind == MESSAGE:
            self.ledger.add(message, Message.State.FAILED, attempts=message.attempts + 1,
                            note=f"provider error: {fault.reason}"[:300])
            self.counts["failed"] += 1
            return True
        else:
            self._provider_failed(fault, [message], rest)
            return False
        # The connection's state is unknown after a dropped exchange: start a new one for the next row.
        self.backend.close()
        try:
            self.backend.open()
        except Exception as exc:  # noqa: BLE001
            self._provider_failed(classify(exc, handed_over=False), [], rest)
            return False
        return True

    def _provider_failed(self, fault: Fault, tried: list[Message], waiting: list[Message] | None = None) -> None:
        """The store's provider is failing: retry (transient) or fail (not) the rows tried, and hold or fail
        the store's other rows of the batch without calling the provider again; alert the owner."""
        for m in tried:
            if fault.kind == TRANSIENT:
                self.counts["retried" if _retry(self.ledger, m, f"provider error: {fault.reason}", self.now)
                            else "failed"] += 1
            else:
                self.ledger.add(m, Message.State.FAILED, attempts=m.attempts + 1,
                                note=f"provider error: {fault.reason}"[:300])
                self.counts["failed"] += 1
        for m in waiting or []:
            if fault.kind == STORE:
                self.ledger.add(m, Message.State.FAILED, note=f"provider error: {fault.reason}"[:300])
                self.counts["failed"] += 1
            else:
                self.ledger.add(m, Message.State.QUEUED, next_attempt_at=self.now + backoff(1),
                                note=f"waiting: {fault.reason}"[:300])
                self.counts["retried"] += 1
        EmailProvider.objects.filter(pk=self.provider.pk).update(problem=fault.reason[:300], problem_at=self.now)

    def _give_back(self, rows: list[Message], note: str) -> None:
        for m in rows:
            self.ledger.add(m, Message.State.QUEUED, note=note)
        self.counts["requeued"] += len(rows)


def _record_sent(store: Store, messages: list[Message],
                 subjects: dict[int, tuple[str, datetime]] | None = None) -> None:
    """``email.sent`` for rows marked sent (idempotent: the event's dedupe key is the row's id)."""
    events = []
    for m in messages:
        subject, at = (subjects or {}).get(m.pk, (m.subject, m.sent_at))
        events.append(sent_event(m, subject, at))
    record_events(store, events)
    Message.objects.filter(pk__in=[m.pk for m in messages], state=Message.State.SENT).exclude(
        claim_token="").update(claim_token="")


def _retry(ledger: Ledger, message: Message, note: str, now: datetime) -> bool:
    attempts = message.attempts + 1
    if attempts >= MAX_ATTEMPTS:
        ledger.add(message, Message.State.FAILED, attempts=attempts, note=note[:300])
        return False
    ledger.add(message, Message.State.QUEUED, attempts=attempts, next_attempt_at=now + backoff(attempts),
               note=note[:300])
    return True


def event_ids(message: Message) -> dict:
    """The ids every email.* event carries (vocabulary: message_id, campaign_id | flow_id, step_id, variant)."""
    props: dict = {"message_id": str(message.pk)}
    if message.campaign_id:
        props["campaign_id"] = message.campaign_id
    if message.flow_id:
        props["flow_id"] = message.flow_id
    if message.step_id:
        props["step_id"] = message.step_id
    if message.variant:
        props["variant"] = message.variant
    return props


def sent_event(message: Message, subject: str, at: datetime) -> CanonicalEvent:
    return CanonicalEvent(type="email.sent", occurred_at=at, dedupe_key=f"email.sent:{message.pk}",
                          source="email", customer_id=message.customer_id,
                          properties={**event_ids(message), "subject": subject})


def utm_for(message: Message) -> dict[str, str]:
    if message.flow_id:
        campaign = f"flow-{message.flow_id}"
    elif message.campaign_id:
        campaign = f"campaign-{message.campaign_id}"
    else:
        campaign = "email"
    utm = {"utm_source": "shopconnect", "utm_medium": "email", "utm_campaign": campaign}
    if message.step_id:
        utm["utm_content"] = f"step-{message.step_id}" + (f"-{message.variant}" if message.variant else "")
    return utm


def batch_products(store, messages: list[Message]) -> dict:
    """The catalog entries every trigger event of the batch mentions, in one query."""
    ids = {str(item.get("product_id")) for m in messages if m.trigger_event is not None
           for item in event_lines(m.trigger_event.properties or {}) if item.get("product_id")}
    return {p.external_id: p for p in Product.objects.filter(store=store, external_id__in=ids)} if ids else {}


def batch_variants(messages: list[Message]) -> dict[tuple[int, str], CampaignVariant]:
    """The campaign variants (A/B arms) the batch's rows name, in one query: (campaign id, label) -> variant."""
    wanted = {(m.campaign_id, m.variant) for m in messages if m.campaign_id and m.variant and m.variant != HOLDOUT}
    if not wanted:
        return {}
    found = CampaignVariant.objects.filter(campaign_id__in={c for c, _ in wanted},
                                           label__in={v for _, v in wanted}).select_related("template")
    return {(v.campaign_id, v.label): v for v in found}


def template_for(message: Message, variant: CampaignVariant | None = None) -> EmailTemplate | None:
    """The template a message renders: its campaign variant's, when that has one, else the row's."""
    return (variant.template if variant is not None and variant.template_id else None) or message.template


def render_message(message: Message, products: dict | None = None,
                   variant: CampaignVariant | None = None) -> tuple[Rendered, str]:
    """Render a message's template for its customer; returns the result and the unsubscribe URL.
    A campaign variant's template and subject, when set, replace the row's."""
    template = template_for(message, variant)
    if template is None:
        raise TemplateProblem("html", "the message has no template")
    subject = variant.subject if variant is not None and variant.subject else template.subject
    unsub = unsubscribe_url(message.store_id, message.customer_id, message.pk)
    extra = {"discount_code": template.discount_code, **(message.context or {}),
             "unsubscribe_url": unsub, "preferences_url": unsub}
    context = build_context(message.store, message.customer, message.trigger_event, extra, products)
    return render_email(subject, template.html, template.text, context), unsub


def build_email(
    message: Message, provider: EmailProvider, connection, products: dict | None = None,
    variant: CampaignVariant | None = None,
) -> tuple[EmailMultiAlternatives, Rendered, list[str]]:
    rendered, unsub = render_message(message, products, variant)
    html, links = track(rendered.html, message_id=message.pk, store=message.store,
                        customer_id=message.customer_id, utm=utm_for(message))
    domain = provider.from_email.rpartition("@")[2] or "shopconnect.local"
    # The outbox id in Message-ID, the same on every attempt: a provider or server that deduplicates on it can.
    headers = {"Message-ID": f"<sc{message.pk}.{provider_key(message)}@{domain}>"}
    if provider.reply_to:
        headers["Reply-To"] = provider.reply_to
    if message.marketing:  # RFC 8058 one-click unsubscribe
        headers["List-Unsubscribe"] = f"<{unsub}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    from_header = provider.from_header
    if variant is not None and variant.from_name:
        from_header = formataddr((variant.from_name, provider.from_email))
    email = EmailMultiAlternatives(subject=rendered.subject, body=rendered.text, from_email=from_header,
                                   to=[message.customer.email], headers=headers, connection=connection)
    email.attach_alternative(html, "text/html")
    # anymail: provider webhooks find this row by its random reference (campaigns.feedback), never by its
    # sequential id; we track opens and clicks ourselves.
    email.metadata = {"sc_ref": message.reference}
    if provider.kind in TRACKING_SWITCH_KINDS:  # the others refuse the switch (campaigns.providers)
        email.track_opens = False
        email.track_clicks = False
    add_key(email, provider.kind, provider_key(message))
    return email, rendered, links
