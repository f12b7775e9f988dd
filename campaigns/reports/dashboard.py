"""The store dashboard and the campaign, flow and segment reports, as plain data (dicts and lists).

The admin pages, the CSV exports and the API all render these, so every surface shows the same numbers.
Each function runs a fixed number of aggregate queries whatever the size of the store.

Deliverability alerts follow the mailbox providers' guidance: complaints above 0.1% of delivered mail,
bounces above 2% of sent mail.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Avg, Count, Exists, F, OuterRef, Q, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from shopconnect.timeline.models import Consent, Customer

from ..models import AttributedOrder, Campaign, Flow, MessageOutcome, Suppression
from .abtest import ab_table
from .kpis import MONEY, NET_REVENUE, ZERO, DateRange, Kpi, kpis, open_field, zone_of
from .lift import holdout_lift

COMPLAINT_ALERT = 0.001
BOUNCE_ALERT = 0.02
ENGAGED_DAYS = 90
CENT = Decimal("0.01")
OTHER = "Other email (not a campaign or flow)"
#: what earned an attributed order: its campaign, else its flow, else "other" (an email sent outside both,
#: such as imported history, or whose campaign or flow was deleted); every order is in exactly one
SOURCES = {"campaigns": Q(campaign__isnull=False), "flows": Q(campaign__isnull=True, flow__isnull=False),
           "other": Q(campaign__isnull=True, flow__isnull=True)}


def _net(condition: Q):
    return Coalesce(Sum(F("revenue") - F("refunded"), filter=condition, output_field=MONEY), ZERO,
                    output_field=MONEY)


def _orders(store_id: int, dates: DateRange):
    return AttributedOrder.objects.filter(store_id=store_id, ordered_at__gte=dates.start, ordered_at__lt=dates.end)


def revenue_by_source(store_id: int, dates: DateRange) -> dict:
    """Attributed revenue and orders (net of refunds) split into campaigns, flows and other; one query.
    ``total`` is their sum, the dashboard's headline."""
    row = _orders(store_id, dates).aggregate(
        **{name: _net(cond) for name, cond in SOURCES.items()},
        **{f"{name}_orders": Count("pk", filter=cond) for name, cond in SOURCES.items()})
    out = {name: Decimal(row[name]).quantize(CENT) for name in SOURCES}
    out.update({f"{name}_orders": row[f"{name}_orders"] for name in SOURCES})
    out["total"] = sum((out[name] for name in SOURCES), ZERO)
    out["orders"] = sum(out[f"{name}_orders"] for name in SOURCES)
    return out


def revenue_over_time(store_id: int, dates: DateRange) -> list[dict]:
    """Attributed revenue (net of refunds) per day of the order (the range's time zone), every day."""
    rows = (_orders(store_id, dates)
            .annotate(day=TruncDate("ordered_at", tzinfo=dates.tz)).values("day")
            .annotate(orders=Count("pk"), revenue=NET_REVENUE).order_by("day"))
    found = {row["day"]: row for row in rows}
    return [{"day": day, "orders": found.get(day, {}).get("orders", 0),
             "revenue": Decimal(found.get(day, {}).get("revenue", ZERO)).quantize(CENT)} for day in dates.days()]


def ranked_by_revenue(store_id: int, dates: DateRange, limit: int = 10) -> dict[str, list[dict]]:
    """Campaigns and flows by the revenue of the orders they earned in the range (order day): the top
    ``limit`` of each, then one row for the rest of them, so each list adds up to its share of the split."""
    orders = _orders(store_id, dates)
    out = {}
    for kind, path in (("campaigns", "campaign"), ("flows", "flow")):
        rows = list(orders.filter(SOURCES[kind]).values(f"{path}_id", f"{path}__name")
                    .annotate(orders=Count("pk"), revenue=NET_REVENUE).order_by("-revenue", f"{path}_id"))
        ranked = [{"id": r[f"{path}_id"], "name": r[f"{path}__name"], "orders": r["orders"],
                   "revenue": Decimal(r["revenue"]).quantize(CENT)} for r in rows]
        if len(ranked) > limit:
            rest = ranked[limit:]
            ranked = ranked[:limit] + [{"id": None, "name": f"{len(rest)} more {kind}", "orders":
                                        sum(r["orders"] for r in rest),
                                        "revenue": sum((r["revenue"] for r in rest), ZERO)}]
        out[kind] = ranked
    return out


def earned_the_money(split: dict, ranked: dict[str, list[dict]]) -> list[dict]:
    """One table of every attributed order's source: each campaign, each flow, then "other": its rows add
    up to the headline (``split["total"]``)."""
    rows = [{**r, "kind": "Campaign"} for r in ranked["campaigns"]] + [{**r, "kind": "Flow"} for r in ranked["flows"]]
    rows.sort(key=lambda r: -r["revenue"])
    if split["other_orders"]:
        rows.append({"id": None, "name": OTHER, "kind": "Other", "orders": split["other_orders"],
                     "revenue": split["other"]})
    rows.append({"id": None, "name": "Total (the headline)", "kind": "", "orders": split["orders"],
                 "revenue": split["total"]})
    return rows


def segment_growth(store_id: int, dates: DateRange) -> list[dict]:
    """Each active segment's daily sizes in the range, first and last size and the change."""
    from segments.models import SegmentSnapshot

    rows = (SegmentSnapshot.objects.filter(segment__store_id=store_id, segment__is_active=True,
                                           day__gte=dates.since, day__lte=dates.until)
            .values("segment_id", "segment__name", "day", "size").order_by("segment__name", "segment_id", "day"))
    series: dict[int, dict] = {}
    for row in rows:
        entry = series.setdefault(row["segment_id"], {"id": row["segment_id"], "name": row["segment__name"],
                                                      "points": []})
        entry["points"].append({"day": row["day"], "size": row["size"]})
    for entry in series.values():
        entry["first"], entry["last"] = entry["points"][0]["size"], entry["points"][-1]["size"]
        entry["change"] = entry["last"] - entry["first"]
        entry["growth_rate"] = entry["change"] / entry["first"] if entry["first"] else None
    return list(series.values())


def list_health(store_id: int, now: datetime | None = None) -> dict:
    """Customers with an email: suppressed (address suppressed or unsubscribed), engaged (subscribed and
    opened or clicked in the last 90 days), unengaged (subscribed, not engaged), not subscribed.

    With ``exclude_machine_opens`` an open counts only when a person opened (``MessageOutcome``), since
    privacy proxies "open" every email they receive; otherwise the customer's last open (aggregate)."""
    now = now or timezone.now()
    since = now - timedelta(days=ENGAGED_DAYS)
    suppressed = Q(Exists(Suppression.objects.filter(store_id=store_id, email=OuterRef("email")))) | Q(
        email_consent=Consent.UNSUBSCRIBED)
    if open_field(store_id) == "human_opened_at":
        opened = Q(Exists(MessageOutcome.objects.filter(customer_id=OuterRef("pk"), human_opened_at__gte=since)))
    else:
        opened = Q(last_opened_at__gte=since)
    engaged = opened | Q(last_clicked_at__gte=since)
    subscribed = Q(email_consent=Consent.SUBSCRIBED, deleted_at__isnull=True)
    counts = Customer.objects.filter(store_id=store_id, email__isnull=False).aggregate(
        total=Count("pk"),
        suppressed=Count("pk", filter=suppressed),
        engaged=Count("pk", filter=~suppressed & subscribed & engaged),
        unengaged=Count("pk", filter=~suppressed & subscribed & ~engaged),
    )
    counts["not_subscribed"] = counts["total"] - counts["suppressed"] - counts["engaged"] - counts["unengaged"]
    return counts


def deliverability(store_id: int, dates: DateRange) -> dict:
    row = kpis(store_id, dates, open_col=open_field(store_id))
    kpi = row[0] if row else Kpi()
    alerts = []
    if kpi.complaint_rate is not None and kpi.complaint_rate > COMPLAINT_ALERT:
        alerts.append(f"Complaint rate {kpi.complaint_rate:.2%} is above 0.1%: mailbox providers may start "
                      f"filtering your mail. Send to engaged customers only and check your sign-up consent.")
    if kpi.bounce_rate is not None and kpi.bounce_rate > BOUNCE_ALERT:
        alerts.append(f"Bounce rate {kpi.bounce_rate:.2%} is above 2%: clean the list (old or bought addresses) "
                      f"and check the sending domain's setup.")
    return {"sent": kpi.sent, "delivered": kpi.delivered, "bounced": kpi.bounced, "complained": kpi.complained,
            "unsubscribed": kpi.unsubscribed, "bounce_rate": kpi.bounce_rate, "complaint_rate": kpi.complaint_rate,
            "unsubscribe_rate": kpi.unsubscribe_rate, "alerts": alerts}


def dashboard(store_id: int, dates: DateRange) -> dict:
    over_time = revenue_over_time(store_id, dates)
    split = revenue_by_source(store_id, dates)
    ranked = ranked_by_revenue(store_id, dates)
    return {
        "since": dates.since, "until": dates.until, "time_zone": dates.zone,
        "attributed_revenue": split["total"],
        "attributed_orders": split["orders"],
        "revenue_split": split,
        "best_campaign": next((r for r in ranked["campaigns"] if r["id"] is not None), None),
        "best_flow": next((r for r in ranked["flows"] if r["id"] is not None), None),
        "earned": earned_the_money(split, ranked),
        "revenue_over_time": over_time,
        **ranked,
        "segment_growth": segment_growth(store_id, dates),
        "list_health": list_health(store_id),
        "deliverability": deliverability(store_id, dates),
    }


def _fill_days(rows: list[Kpi], dates: DateRange | None) -> list[dict]:
    found = {row.key["day"]: row for row in rows}
    days = dates.days() if dates else sorted(found)
    return [{**found.get(day, Kpi()).as_dict(), "day": day} for day in days]


def campaign_report(campaign: Campaign, dates: DateRange | None = None) -> dict:
    store_id = campaign.store_id
    open_col = open_field(store_id)
    totals = kpis(store_id, dates, campaign_id=campaign.pk, open_col=open_col)
    lift = holdout_lift(store_id, campaign_id=campaign.pk)
    return {
        "campaign": {"id": campaign.pk, "name": campaign.name, "status": campaign.status,
                     "winning_metric": campaign.winning_metric, "winner": campaign.winner,
                     "winner_reason": campaign.winner_reason},
        "totals": (totals[0] if totals else Kpi()).as_dict(),
        "variants": [r.as_dict() for r in kpis(store_id, dates, ("variant",), campaign_id=campaign.pk,
                                               open_col=open_col)],
        "days": _fill_days(kpis(store_id, dates, ("day",), campaign_id=campaign.pk, open_col=open_col), dates),
        "ab_test": ab_table(campaign, dates),
        "holdout_lift": lift.as_dict() if lift else None,
    }


def flow_report(flow: Flow, dates: DateRange | None = None) -> dict:
    store_id = flow.store_id
    open_col = open_field(store_id)
    totals = kpis(store_id, dates, flow_id=flow.pk, open_col=open_col)
    names = {s.pk: s.name or f"{s.position}: {s.get_kind_display()}" for s in flow.steps.all()}
    steps = [{**r.as_dict(), "step_name": names.get(r.key["step"], "(deleted step)")}
             for r in kpis(store_id, dates, ("step",), flow_id=flow.pk, open_col=open_col)]
    lift = holdout_lift(store_id, flow_id=flow.pk)
    # A/B split steps label their messages with the variant: each branch's numbers per step
    variants = [{**r.as_dict(), "step_name": names.get(r.key["step"], "(deleted step)")}
                for r in kpis(store_id, dates, ("step", "variant"), flow_id=flow.pk, open_col=open_col)
                if r.key["variant"]]
    return {
        "flow": {"id": flow.pk, "name": flow.name, "enabled": flow.enabled},
        "totals": (totals[0] if totals else Kpi()).as_dict(),
        "steps": steps,
        "variants": variants,
        "days": _fill_days(kpis(store_id, dates, ("day",), flow_id=flow.pk, open_col=open_col), dates),
        "holdout_lift": lift.as_dict() if lift else None,
    }


def segment_report(segment, dates: DateRange | None = None) -> dict:
    """Size, average lifetime value and reachable share of the current members; KPIs of the messages they
    got, split into sends from campaigns that targeted (included) this segment and all other sends."""
    from segments.models import SegmentMembership

    store_id = segment.store_id
    members = Customer.objects.filter(pk__in=SegmentMembership.objects.filter(
        segment=segment, exited_at__isnull=True).values("customer_id"))
    suppressed = Exists(Suppression.objects.filter(store_id=store_id, email=OuterRef("email")))
    facts = members.aggregate(
        size=Count("pk"), average_lifetime_value=Avg("total_spent"),
        reachable=Count("pk", filter=Q(email__isnull=False, email_consent=Consent.SUBSCRIBED,
                                       deleted_at__isnull=True) & ~Q(suppressed)),
    )
    facts["average_lifetime_value"] = Decimal(facts["average_lifetime_value"] or 0).quantize(Decimal("0.01"))
    facts["reachable_share"] = facts["reachable"] / facts["size"] if facts["size"] else None
    open_col = open_field(store_id)
    split = {row.key["targeted"]: row for row in kpis(store_id, dates, ("targeted",), segment_id=segment.pk,
                                                       open_col=open_col)}
    days = kpis(store_id, dates, ("day",), segment_id=segment.pk, open_col=open_col)
    return {
        "segment": {"id": segment.pk, "name": segment.name, **facts},
        "targeted": split.get(True, Kpi()).as_dict(),
        "untargeted": split.get(False, Kpi()).as_dict(),
        "days": _fill_days(days, dates),
    }


def parse_range(since: str | None, until: str | None, default_days: int = 30, zone: str = "UTC") -> DateRange:
    """``YYYY-MM-DD`` strings (days in ``zone``, the store's time zone; inclusive) to a range; ValueError
    with a clear message."""
    def day(value: str, name: str):
        try:
            return datetime.strptime(value, "%Y-%m-%d").date()
        except ValueError as exc:
            raise ValueError(f"{name}: {value!r} is not a date (YYYY-MM-DD)") from exc

    end = day(until, "until") if until else timezone.now().astimezone(zone_of(zone)).date()
    start = day(since, "since") if since else end - timedelta(days=default_days - 1)
    if end < start:
        raise ValueError("until: must not be before since")
    if (end - start).days > 3660:
        raise ValueError("the range may cover at most 10 years")
    return DateRange(start, end, zone)

