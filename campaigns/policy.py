"""Send-time rules: consent, suppression, smart sending, quiet hours. Checked for every message just
before it is handed to the provider, with everything read fresh in one query per batch, so an
unsubscribe takes effect for the very next send.

``decide`` returns ``SEND``, a ``Skip`` (recorded on the row with its reason, so "why didn't this
customer get it?" has an answer) or a ``Defer`` (quiet hours: sent later, not dropped).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import Max

from shopconnect.timeline.models import Consent, Customer

from .consent import address_hash
from .models import EmailPreference, EmailProvider, Enrollment, Message, Suppression


@dataclass(frozen=True, slots=True)
class Skip:
    reason: str


@dataclass(frozen=True, slots=True)
class Defer:
    until: datetime
    note: str


SEND = None
UNSUBSCRIBE_REASONS = frozenset({Suppression.Reason.UNSUBSCRIBE})


def local_zone(customer: Customer, store) -> ZoneInfo:
    for name in (customer.timezone, store.timezone, "UTC"):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def quiet_until(provider: EmailProvider, customer: Customer, now: datetime) -> datetime | None:
    """When quiet hours end for this customer, if it is quiet hours for them now."""
    start, end = provider.quiet_hours_start, provider.quiet_hours_end
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(local_zone(customer, provider.store))
    hour = local.hour
    quiet = start <= hour < end if start < end else (hour >= start or hour < end)
    if not quiet:
        return None
    until = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if until <= local:
        until += timedelta(days=1)
    return until.astimezone(now.tzinfo)


class BatchFacts:
    """What the rules need about a batch's customers, read in a few queries."""

    def __init__(self, store, messages: Sequence[Message]) -> None:
        customer_ids = {m.customer_id for m in messages}
        emails = {m.customer.email for m in messages if m.customer.email}
        # An erased address is kept as its hash (campaigns.consent.address_hash): look both up.
        hashes = {address_hash(store.pk, email): email for email in emails}
        self.suppressed = {
            hashes.get(email, email): reason for email, reason in
            Suppression.objects.filter(store=store, email__in=emails | set(hashes)).values_list("email", "reason")
        }
        self.last_sent = dict(
            Message.objects.filter(customer_id__in=customer_ids, state=Message.State.SENT, marketing=True)
            .values("customer_id").annotate(last=Max("sent_at")).values_list("customer_id", "last")
        )
        self.fewer = set(EmailPreference.objects.filter(customer_id__in=customer_ids, fewer_emails=True)
                         .values_list("customer_id", flat=True))
        enrollment_ids = {m.enrollment_id for m in messages if m.enrollment_id}
        self.enrollments = dict(
            Enrollment.objects.filter(id__in=enrollment_ids).values_list("id", "status")
        ) if enrollment_ids else {}

    def mark_sent(self, customer_id: int, when: datetime) -> None:
        self.last_sent[customer_id] = when


def decide(message: Message, provider: EmailProvider, facts: BatchFacts, now: datetime) -> Skip | Defer | None:
    customer = message.customer
    if not customer.email:
        return Skip("no email address")
    if customer.deleted_at is not None:
        return Skip("customer deleted")
    reason = facts.suppressed.get(customer.email)
    # An unsubscribe stops marketing mail only: a transactional email such as a signup
    # confirmation still goes; bounces and complaints stop everything.
    if reason and (message.marketing or reason not in UNSUBSCRIBE_REASONS):
        return Skip(f"suppressed ({reason})")
    if message.enrollment_id and facts.enrollments.get(message.enrollment_id) == Enrollment.Status.EXITED:
        return Skip("left the flow before sending")
    if not message.marketing:
        return SEND
    if customer.email_consent != Consent.SUBSCRIBED:
        return Skip(f"no marketing consent ({customer.email_consent})")
    hours = EmailPreference.FEWER_HOURS if customer.pk in facts.fewer else provider.smart_sending_hours
    skip_smart = bool((message.context or {}).get("skip_smart_sending"))
    last = facts.last_sent.get(customer.pk)
    if hours and not skip_smart and last and last > now - timedelta(hours=hours):
        return Skip(f"smart sending: got marketing email within {hours} h")
    until = quiet_until(provider, customer, now)
    if until is not None:
        return Defer(until, f"quiet hours until {until:%Y-%m-%d %H:%M} UTC")
    return SEND
