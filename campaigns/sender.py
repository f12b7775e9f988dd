"""The sender task: claim due outbox rows, apply the send-time rules, render, hand to the store's
backend, record the outcome. Knows nothing about flows or campaigns beyond the row's ids.

Outcomes per row: ``sent`` (provider message id stored, ``email.sent`` on the timeline), ``skipped``
(reason), deferred (quiet hours, rate limit: back to ``queued`` with a later ``next_attempt_at``),
retried (provider error: back to ``queued`` with exponential backoff, ``MAX_ATTEMPTS`` in all) or
``failed`` (template error, no provider, attempts exhausted). Rows are marked sent one by one right
after the provider accepts them; a worker killed mid-batch leaves its unsent rows in ``sending``,
which ``fail_stale_claims`` fails rather than retries (see ``campaigns.outbox``).
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from email.utils import formataddr, make_msgid

from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.utils import timezone

from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.models import Product
from shopconnect.timeline.record import record_events

from . import coupons, policy
from .context import build_context, event_lines
from .copies import copy_of, keep_copies
from .links import track
from .models import HOLDOUT, CampaignVariant, EmailProvider, EmailTemplate, Message
from .outbox import claim_batch, fail_stale_claims
from .providers import TRACKING_SWITCH_KINDS, ProviderNotConfigured, connection_for, sending_budget
from .rendering import Rendered, TemplateProblem, render_email
from .tokens import unsubscribe_url

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
BATCH_SIZE = 200


def backoff(attempts: int) -> timedelta:
    return timedelta(minutes=2 ** min(attempts, 8))


def send_due_messages(batch_size: int = BATCH_SIZE, max_batches: int | None = None) -> dict[str, int]:
    """The scheduled task: send every due message. Safe to run concurrently and repeatedly."""
    totals: Counter[str] = Counter()
    totals["interrupted"] = fail_stale_claims()
    batches = 0
    while max_batches is None or batches < max_batches:
        batch = claim_batch(batch_size)
        if not batch:
            break
        batches += 1
        by_store: dict[int, list[Message]] = defaultdict(list)
        for message in batch:
            by_store[message.store_id].append(message)
        for messages in by_store.values():
            totals.update(send_store_batch(messages))
    return dict(totals)


class _Outcomes(list):
    """Row outcomes of one batch, written together in one transaction (one commit, not one per row).
    Until then the rows stay ``sending``: a crash before the write fails them, never resends them."""

    def add(self, message: Message, state: str, **fields) -> None:
        fields.setdefault("claim_token", "")
        self.append((message.pk, state, fields))

    def write(self) -> None:
        groups: dict[tuple, list[tuple[int, dict]]] = defaultdict(list)
        for pk, state, fields in self:
            groups[(state, *sorted(fields))].append((pk, fields))
        with transaction.atomic():
            for (state, *names), rows in groups.items():
                if len(rows) > 1:
                    _update_from_values(state, names, rows)
                else:
                    for pk, fields in rows:
                        Message.objects.filter(pk=pk, state=Message.State.SENDING).update(state=state, **fields)
        self.clear()


def _update_from_values(state: str, names: list[str], rows: list[tuple[int, dict]]) -> None:
    """One ``UPDATE ... FROM`` a VALUES list for many rows with different values (Django's ``bulk_update``
    builds CASE expressions that take PostgreSQL seconds to plan at a few hundred rows). Works on
    PostgreSQL and SQLite >= 3.33."""
    fields = [Message._meta.get_field(name) for name in names]
    qn = connection.ops.quote_name
    pg = connection.vendor == "postgresql"
    sets = ", ".join(f"{qn(f.column)} = v.{qn(f.column)}" + (f"::{f.db_type(connection)}" if pg else "")
                     for f in fields)
    columns = ", ".join(["id"] + [qn(f.column) for f in fields])
    placeholders = ", ".join(["(" + ", ".join(["%s"] * (len(fields) + 1)) + ")"] * len(rows))
    params: list = []
    for pk, values in rows:
        params.append(pk)
        params.extend(f.get_db_prep_save(values[f.name], connection) for f in fields)
    table = qn(Message._meta.db_table)
    sql = (f"WITH v({columns}) AS (VALUES {placeholders}) UPDATE {table} AS m SET state = %s, {sets} FROM v "
           f"WHERE m.id = v.id{'::bigint' if pg else ''} AND m.state = %s")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, state, Message.State.SENDING])


def send_store_batch(messages: list[Message]) -> Counter[str]:
    counts: Counter[str] = Counter()
    outcomes = _Outcomes()
    try:
        return _send_store_batch(messages, counts, outcomes)
    finally:
        outcomes.write()


def _send_store_batch(messages: list[Message], counts: Counter[str], outcomes: _Outcomes) -> Counter[str]:
    store = messages[0].store
    now = timezone.now()
    provider = EmailProvider.objects.filter(store=store).select_related("store").first()
    if provider is None:
        for m in messages:
            outcomes.add(m, Message.State.SKIPPED, skip_reason="store has no email provider")
        counts["skipped"] += len(messages)
        return counts
    budget = sending_budget(provider, now)
    facts = policy.BatchFacts(store, messages, provider, now)
    products = batch_products(store, messages)
    variants = batch_variants(messages)
    try:
        backend = connection_for(provider)
        backend.open()
    except (ProviderNotConfigured, ValueError, OSError) as exc:
        for m in messages:
            _retry(outcomes, m, f"provider unavailable: {exc}", now)
        counts["retried"] += len(messages)
        return counts
    sent_events: list[CanonicalEvent] = []
    copies = []  # what each sent message looked like (campaigns.copies), kept after the outcomes
    try:
        for message in policy.in_order(messages):  # order follow-ups, then flow emails, then campaigns
            decision = policy.decide(message, provider, facts, now)
            if isinstance(decision, policy.Skip):
                outcomes.add(message, Message.State.SKIPPED, skip_reason=decision.reason[:200])
                counts["skipped"] += 1
                continue
            if isinstance(decision, policy.Defer):
                outcomes.add(message, Message.State.QUEUED, next_attempt_at=decision.until, note=decision.note)
                counts["deferred"] += 1
                continue
            if budget is not None and budget <= 0:
                outcomes.add(message, Message.State.QUEUED, next_attempt_at=now + timedelta(minutes=1),
                        note="store sending rate limit reached")
                counts["rate_limited"] += 1
                continue
            variant = variants.get((message.campaign_id, message.variant))
            try:  # a unique discount code, created on the platform once per message (campaigns.coupons)
                coupons.code_for(message, template_for(message, variant))
            except coupons.CodeUnavailable as exc:
                if exc.transient:
                    counts["retried" if _retry(outcomes, message, str(exc), now) else "failed"] += 1
                else:
                    outcomes.add(message, Message.State.FAILED, note=str(exc)[:300])
                    counts["failed"] += 1
                continue
            try:
                email, rendered, links = build_email(message, provider, backend, products, variant)
            except TemplateProblem as exc:
                outcomes.add(message, Message.State.FAILED, note=f"template error: {exc}"[:300])
                counts["failed"] += 1
                continue
            try:
                backend.send_messages([email])
            except Exception as exc:  # every provider error (HTTP, SMTP, anymail) is retried, boundedly
                log.warning("provider error sending message %s: %s", message.pk, type(exc).__name__)
                counts["retried" if _retry(outcomes, message, f"provider error: {exc}", now) else "failed"] += 1
                continue
            status = getattr(email, "anymail_status", None)
            provider_id = (status.message_id if status else None) or email.extra_headers["Message-ID"].strip("<>")
            sent_at = timezone.now()
            outcomes.add(message, Message.State.SENT, sent_at=sent_at, provider_message_id=str(provider_id)[:255],
                    subject=rendered.subject[:300], links=links, attempts=message.attempts + 1, note="")
            facts.mark_sent(message, sent_at)
            if budget is not None:
                budget -= 1
            counts["sent"] += 1
            sent_events.append(sent_event(message, rendered.subject, sent_at))
            copies.append(copy_of(message, rendered, sent_at))
    finally:
        backend.close()
        outcomes.write()
        facts.flush()
    keep_copies(copies)
    if sent_events:
        record_events(store, sent_events)
    return counts


def _retry(outcomes: _Outcomes, message: Message, note: str, now: datetime) -> bool:
    attempts = message.attempts + 1
    if attempts >= MAX_ATTEMPTS:
        outcomes.add(message, Message.State.FAILED, attempts=attempts, note=note[:300])
        return False
    outcomes.add(message, Message.State.QUEUED, attempts=attempts, next_attempt_at=now + backoff(attempts),
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
    headers = {"Message-ID": make_msgid(f"sc{message.pk}", domain=domain)}
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
    return email, rendered, links
