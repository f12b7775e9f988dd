"""KPIs: the numbers of every report, as SQL aggregates with ``GROUP BY`` (both databases).

A KPI row is computed for a set of sent messages (a campaign, a flow, a step, a variant, the messages to a
segment's members...) sent in a date range, grouped by any of ``GROUPS`` (and by ``day``: days in the store's
time zone).
Two queries per call whatever the data: one over ``MessageOutcome`` (conditional counts) and one over
``AttributedOrder`` joined to the same messages (the revenue those messages earned, net of refunds).

Definitions (the README repeats them for marketers):

- sent: messages handed to the provider; delivered: sent minus bounced (hard or soft);
- bounce rate = bounced / sent; every other rate is over delivered;
- unique open rate: messages opened at least once (privacy-proxy opens left out when the store's
  ``exclude_machine_opens`` is on); click rate: messages clicked at least once;
- click-to-open = clicked / opened; unsubscribe and complaint rates;
- conversions: attributed orders; conversion rate: recipients with at least one attributed order /
  delivered; revenue: attributed revenue net of refunds; revenue per recipient = revenue / delivered;
  average order value = revenue / conversions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, Exists, F, OuterRef, Sum
from django.db.models.functions import Coalesce, TruncDate

from shopconnect.timeline.aggregates import MONEY
from shopconnect.timeline.localtime import zone_of as local_zone_of

from ..models import AttributedOrder, Campaign, MessageOutcome
from .attribution import Windows

ZERO = Decimal("0.00")
#: attributed revenue net of refunds, summed over AttributedOrder rows
NET_REVENUE = Coalesce(Sum(F("revenue") - F("refunded"), output_field=MONEY), ZERO, output_field=MONEY)
# What a report may group by: name -> field of MessageOutcome (``day`` and ``targeted`` are computed).
GROUPS = {"campaign": "campaign_id", "flow": "flow_id", "step": "step_id", "variant": "variant"}


def zone_of(name: str | None) -> tzinfo:
    """A store's time zone (``Store.timezone``); UTC when unset or unknown."""
    return ZoneInfo(local_zone_of(None, name))


def store_zone(store_id: int) -> tzinfo:
    from shopconnect.timeline.models import Store

    return zone_of(Store.objects.filter(pk=store_id).values_list("timezone", flat=True).first())


@dataclass(frozen=True, slots=True)
class DateRange:
    """Whole days in a time zone (the store's; UTC by default), both ends included."""

    since: date
    until: date
    zone: str = "UTC"

    @property
    def tz(self) -> tzinfo:
        return zone_of(self.zone)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.since, time(), tzinfo=self.tz)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.until + timedelta(days=1), time(), tzinfo=self.tz)

    def days(self) -> list[date]:
        return [self.since + timedelta(days=i) for i in range((self.until - self.since).days + 1)]

    @classmethod
    def last(cls, days: int, today: date | None = None, zone: str = "UTC") -> DateRange:
        today = today or datetime.now(zone_of(zone)).date()
        return cls(today - timedelta(days=days - 1), today, zone)


def _ratio(part, whole) -> float | None:
    return float(part) / float(whole) if whole else None


@dataclass
class Kpi:
    sent: int = 0
    bounced: int = 0
    opened: int = 0
    clicked: int = 0
    unsubscribed: int = 0
    complained: int = 0
    conversions: int = 0
    converted_recipients: int = 0
    revenue: Decimal = ZERO
    key: dict = field(default_factory=dict)

    @property
    def delivered(self) -> int:
        return self.sent - self.bounced

    @property
    def bounce_rate(self):
        return _ratio(self.bounced, self.sent)

    @property
    def open_rate(self):
        return _ratio(self.opened, self.delivered)

    @property
    def click_rate(self):
        return _ratio(self.clicked, self.delivered)

    @property
    def click_to_open(self):
        return _ratio(self.clicked, self.opened)

    @property
    def unsubscribe_rate(self):
        return _ratio(self.unsubscribed, self.delivered)

    @property
    def complaint_rate(self):
        return _ratio(self.complained, self.delivered)

    @property
    def conversion_rate(self):
        return _ratio(self.converted_recipients, self.delivered)

    @property
    def revenue_per_recipient(self):
        return _ratio(self.revenue, self.delivered)

    @property
    def average_order_value(self):
        return _ratio(self.revenue, self.conversions)

    def as_dict(self) -> dict:
        data = {k: v for k, v in asdict(self).items() if k != "key"}
        data["revenue"] = str(self.revenue)
        for name in COLUMNS:
            if name not in data:
                data[name] = getattr(self, name)
        return {**self.key, **data}


# Column order of tables and CSV exports.
COLUMNS = ("sent", "delivered", "bounced", "bounce_rate", "opened", "open_rate", "clicked", "click_rate",
           "click_to_open", "unsubscribed", "unsubscribe_rate", "complained", "complaint_rate", "conversions",
           "converted_recipients", "conversion_rate", "revenue", "revenue_per_recipient", "average_order_value")


def open_field(store_id: int) -> str:
    """The ``MessageOutcome`` column an open counts from: people only, unless the store keeps machine opens."""
    return "human_opened_at" if Windows.for_store(store_id).exclude_machine_opens else "opened_at"


def _group_expressions(group: tuple[str, ...], prefix: str, segment_id: int | None, zone: tzinfo = UTC) -> dict:
    exprs = {}
    for name in group:
        if name == "day":
            exprs[name] = TruncDate(f"{prefix}sent_at", tzinfo=zone)
        elif name == "targeted":
            through = Campaign.include_segments.through.objects.filter(campaign_id=OuterRef("campaign_id"),
                                                                      segment_id=segment_id)
            exprs[name] = Exists(through)
        else:
            exprs[name] = F(GROUPS[name])
    return exprs


def kpis(store_id: int, dates: DateRange | None, group: tuple[str, ...] = (), *, segment_id: int | None = None,
         open_col: str | None = None, **filters) -> list[Kpi]:
    """KPI rows of the store's messages sent in ``dates`` (None: ever) matching ``filters`` (MessageOutcome lookups such
    as ``campaign_id=``, ``flow_id=``, ``ab_test=``), one per value of ``group`` (sorted by it).
    With ``segment_id``: only messages to the segment's current members (``targeted`` may be grouped)."""
    for name in group:
        if name not in GROUPS and name not in ("day", "targeted"):
            raise ValueError(f"cannot group by {name!r}")
    open_col = open_col or open_field(store_id)
    if open_col not in ("opened_at", "human_opened_at"):
        raise ValueError(f"unknown open column {open_col!r}")
    outcomes = MessageOutcome.objects.filter(store_id=store_id, **filters)
    if dates is not None:
        outcomes = outcomes.filter(sent_at__gte=dates.start, sent_at__lt=dates.end)
    if segment_id is not None:
        from segments.models import SegmentMembership

        members = SegmentMembership.objects.filter(segment_id=segment_id, exited_at__isnull=True)
        outcomes = outcomes.filter(customer_id__in=members.values("customer_id"))
    keys = [f"g_{name}" for name in group]
    zone = (dates.tz if dates is not None else store_zone(store_id)) if "day" in group else UTC
    counts = {"sent": Count("pk"), "bounced": Count("bounced_at"), "opened": Count(open_col),
              "clicked": Count("clicked_at"), "unsubscribed": Count("unsubscribed_at"),
              "complained": Count("complained_at")}
    earned = {"conversions": Count("pk"), "converted": Count("message_id", distinct=True),
              "revenue": NET_REVENUE}
    money = AttributedOrder.objects.filter(message__outcome__in=outcomes)
    if keys:
        engagement = list(outcomes.annotate(**{f"g_{k}": v for k, v in _group_expressions(group, "", segment_id, zone)
                                               .items()}).values(*keys).annotate(**counts).order_by(*keys))
        money = (money.annotate(**{f"g_{k}": v for k, v in _group_expressions(group, "message__outcome__",
                                                                             segment_id, zone).items()})
                 .values(*keys).annotate(**earned).order_by())
    else:  # one row: plain aggregates (``values()`` without keys would group by every column)
        engagement = [row] if (row := outcomes.aggregate(**counts))["sent"] else []
        money = [money.aggregate(**earned)] if engagement else []
    revenue = {tuple(row[k] for k in keys): row for row in money}
    rows = []
    for row in engagement:
        key = tuple(row[k] for k in keys)
        earned = revenue.get(key, {})
        rows.append(Kpi(sent=row["sent"], bounced=row["bounced"], opened=row["opened"], clicked=row["clicked"],
                        unsubscribed=row["unsubscribed"], complained=row["complained"],
                        conversions=earned.get("conversions", 0), converted_recipients=earned.get("converted", 0),
                        revenue=Decimal(earned.get("revenue") or ZERO).quantize(Decimal("0.01")),
                        key=dict(zip(group, key, strict=True))))
    return rows


def total(store_id: int, dates: DateRange | None, **filters) -> Kpi:
    rows = kpis(store_id, dates, **filters)
    return rows[0] if rows else Kpi()
