"""Send-time rules, in one place: consent, suppression, the order of precedence between message classes,
smart sending, frequency caps by engagement, quiet hours. Checked for every message just before it is
handed to the provider, with everything read fresh in a few queries per batch, so an unsubscribe takes
effect for the very next send.

``decide`` returns ``SEND``, a ``Skip`` (recorded on the row with its reason, so "why didn't this
customer get it?" has an answer) or a ``Defer`` (sent later, not dropped).

Order of precedence (``Message.message_class``), when two emails compete for one customer:

1. **Order follow-ups** (thank-you, shipping, review request): consent and suppression apply, but smart
   sending, "fewer emails" and frequency caps never hold them back, and they do not count towards them.
2. **Flow emails** (behaviour: cart, browse, welcome...; and re-engagement/sunset): skipped when the
   customer got another flow email within the smart-sending window (a late reminder is worse than none);
   a campaign email does not hold a flow email back. Skipped when over the cap of the customer's
   engagement tier (re-engagement and sunset emails are exempt: they are what that tier is for).
3. **Campaign emails** (broadcasts): deferred, not dropped, until the smart-sending window after the
   customer's last flow email has passed; skipped when they got another campaign within the window or
   are over their tier's cap.

Within a batch the rows are decided in that order (``in_order``): when a cart reminder and a newsletter
are due together, the reminder goes and the newsletter waits. A customer who asked for fewer emails gets
at most one flow or campaign email per ``EmailPreference.FEWER_HOURS``, whatever its class.

Frequency caps (``FrequencyCap``): per store and engagement tier, at most N flow and campaign emails in
any 7 days and M in any 30. A customer's tier is the most engaged of the store's engagement segments
they are in (``Tier`` order); skips read "over the weekly cap for low engaged (2 sent in 7 days, cap 2)".
Skips and deferrals of flow emails are also written to the enrollment's decision log (``flush``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Max, Q
from django.utils import timezone

from shopconnect.timeline.localtime import zone_of
from shopconnect.timeline.models import Consent, Customer

from .consent import address_hash
from .models import (
    TIER_NAMES,
    EmailPreference,
    EmailProvider,
    Enrollment,
    FlowDecision,
    FrequencyCap,
    Message,
    MessageClass,
    Suppression,
    Tier,
)


@dataclass(frozen=True, slots=True)
class Skip:
    reason: str


@dataclass(frozen=True, slots=True)
class Defer:
    until: datetime
    note: str


SEND = None
RANK = {MessageClass.ORDER_FOLLOWUP: 0, MessageClass.FLOW: 1, MessageClass.RE_ENGAGEMENT: 1,
        MessageClass.CAMPAIGN: 2}
FLOW_CLASSES = (MessageClass.FLOW, MessageClass.RE_ENGAGEMENT)
CAPPED = (MessageClass.FLOW, MessageClass.CAMPAIGN)  # what caps limit and count
WEEK, MONTH = timedelta(days=7), timedelta(days=30)
UNSUBSCRIBE_REASONS = frozenset({Suppression.Reason.UNSUBSCRIBE})


def local_zone(customer: Customer, store) -> ZoneInfo:
    return ZoneInfo(zone_of(customer.timezone, store.timezone))


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


def in_order(messages: Sequence[Message]) -> list[Message]:
    """The batch in order of precedence (order follow-ups, flow emails, campaigns), oldest first within."""
    return sorted(messages, key=lambda m: (RANK.get(m.message_class, 1), m.pk or 0))


@dataclass(slots=True)
class Sends:
    """A customer's recent sends, as far as the rules care."""

    last_flow: datetime | None = None
    last_campaign: datetime | None = None
    week: int = 0  # flow + campaign emails in the last 7 days
    month: int = 0  # ... in the last 30


def _tiers(store, customer_ids: set[int]) -> dict[int, str]:
    """Each customer's engagement tier: the most engaged of the store's tier segments they are in."""
    from segments.models import SegmentMembership

    found: dict[int, str] = {}
    order = list(Tier.values)
    for customer_id, tier in SegmentMembership.objects.filter(
            segment__store=store, segment__template__in=order, exited_at__isnull=True,
            customer_id__in=customer_ids).values_list("customer_id", "segment__template"):
        if customer_id not in found or order.index(tier) < order.index(found[customer_id]):
            found[customer_id] = tier
    return found


class BatchFacts:
    """What the rules need about a batch's customers, read in a few queries."""

    def __init__(self, store, messages: Sequence[Message], provider: EmailProvider | None = None,
                 now: datetime | None = None) -> None:
        now = now or timezone.now()
        customer_ids = {m.customer_id for m in messages}
        emails = {m.customer.email for m in messages if m.customer.email}
        # An erased address is kept as its hash (campaigns.consent.address_hash): look both up.
        hashes = {address_hash(store.pk, email): email for email in emails}
        self.suppressed = {
            hashes.get(email, email): reason for email, reason in
            Suppression.objects.filter(store=store, email__in=emails | set(hashes)).values_list("email", "reason")
        }
        hours = max(provider.smart_sending_hours if provider else 0, EmailPreference.FEWER_HOURS)
        since = now - max(MONTH, timedelta(hours=hours))
        counted = Q(message_class__in=CAPPED)
        self.sends: dict[int, Sends] = {
            row["customer_id"]: Sends(row["last_flow"], row["last_campaign"], row["week"], row["month"])
            for row in Message.objects.filter(customer_id__in=customer_ids, state=Message.State.SENT, marketing=True,
                                              sent_at__gte=since).order_by().values("customer_id").annotate(
                last_flow=Max("sent_at", filter=Q(message_class__in=FLOW_CLASSES)),
                last_campaign=Max("sent_at", filter=Q(message_class=MessageClass.CAMPAIGN)),
                week=Count("id", filter=counted & Q(sent_at__gte=now - WEEK)),
                month=Count("id", filter=counted & Q(sent_at__gte=now - MONTH)))
        }
        self.fewer = set(EmailPreference.objects.filter(customer_id__in=customer_ids, fewer_emails=True)
                         .values_list("customer_id", flat=True))
        enrollment_ids = {m.enrollment_id for m in messages if m.enrollment_id}
        self.enrollments = dict(
            Enrollment.objects.filter(id__in=enrollment_ids).values_list("id", "status")
        ) if enrollment_ids else {}
        self.caps = {tier: (week, month) for tier, week, month in
                     FrequencyCap.objects.filter(store=store).values_list("tier", "per_week", "per_month")}
        self.tiers = _tiers(store, customer_ids) if self.caps else {}
        self.decisions: list[FlowDecision] = []

    def mark_sent(self, message: Message, when: datetime) -> None:
        sends = self.sends.setdefault(message.customer_id, Sends())
        if message.message_class in FLOW_CLASSES:
            sends.last_flow = when
        elif message.message_class == MessageClass.CAMPAIGN:
            sends.last_campaign = when
        if message.message_class in CAPPED:
            sends.week += 1
            sends.month += 1

    def log(self, message: Message, decision: Skip | Defer | None, now: datetime) -> None:
        if message.enrollment_id and decision is not None:
            detail = f"not sent: {decision.reason}" if isinstance(decision, Skip) else f"deferred: {decision.note}"
            self.decisions.append(FlowDecision(enrollment_id=message.enrollment_id, step_id=message.step_id, at=now,
                                               kind=FlowDecision.Kind.SKIPPED, detail=detail[:300]))

    def flush(self) -> None:
        """Write the batch's send-time skips and deferrals of flow emails to their decision logs."""
        if self.decisions:
            FlowDecision.objects.bulk_create(self.decisions, batch_size=1000)
            self.decisions = []


def decide(message: Message, provider: EmailProvider, facts: BatchFacts, now: datetime) -> Skip | Defer | None:
    decision = _decide(message, provider, facts, now)
    facts.log(message, decision, now)
    return decision


def _decide(message: Message, provider: EmailProvider, facts: BatchFacts, now: datetime) -> Skip | Defer | None:
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
    if message.message_class != MessageClass.ORDER_FOLLOWUP:
        held = _frequency(message, provider, facts, now) or _cap(message, facts)
        if held is not None:
            return held
    until = quiet_until(provider, customer, now)
    if until is not None:
        return Defer(until, f"quiet hours until {until:%Y-%m-%d %H:%M} UTC")
    return SEND


def _frequency(message: Message, provider: EmailProvider, facts: BatchFacts, now: datetime) -> Skip | Defer | None:
    """Smart sending and "fewer emails", by class (see the module docstring)."""
    sends = facts.sends.get(message.customer_id) or Sends()
    if message.customer_id in facts.fewer:
        hours = EmailPreference.FEWER_HOURS
        last = max((t for t in (sends.last_flow, sends.last_campaign) if t), default=None)
        if last and last > now - timedelta(hours=hours):
            return Skip(f"smart sending: got marketing email within {hours} h (asked for fewer emails)")
        return None
    hours = provider.smart_sending_hours
    if not hours or (message.context or {}).get("skip_smart_sending"):
        return None
    window = timedelta(hours=hours)
    if message.message_class == MessageClass.CAMPAIGN:
        if sends.last_campaign and sends.last_campaign > now - window:
            return Skip(f"smart sending: got marketing email within {hours} h")
        if sends.last_flow and sends.last_flow > now - window:
            until = sends.last_flow + window
            return Defer(until, f"smart sending: a flow email went out at {sends.last_flow:%Y-%m-%d %H:%M} UTC; "
                                f"this campaign email waits until {until:%Y-%m-%d %H:%M} UTC")
        return None
    if sends.last_flow and sends.last_flow > now - window:
        return Skip(f"smart sending: got marketing email within {hours} h")
    return None


def _cap(message: Message, facts: BatchFacts) -> Skip | None:
    """The frequency cap of the customer's engagement tier (re-engagement and sunset emails are exempt)."""
    if message.message_class == MessageClass.RE_ENGAGEMENT or not facts.caps:
        return None
    tier = facts.tiers.get(message.customer_id)
    if tier not in facts.caps:
        return None
    per_week, per_month = facts.caps[tier]
    sends = facts.sends.get(message.customer_id) or Sends()
    name = TIER_NAMES.get(tier, tier)
    if per_week is not None and sends.week >= per_week:
        if per_week == 0:
            return Skip(f"over the weekly cap for {name} (0: only re-engagement, sunset and order emails)")
        return Skip(f"over the weekly cap for {name} ({sends.week} sent in 7 days, cap {per_week})")
    if per_month is not None and sends.month >= per_month:
        return Skip(f"over the monthly cap for {name} ({sends.month} sent in 30 days, cap {per_month})")
    return None
