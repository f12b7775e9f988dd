"""The A/B table of a campaign: each variant of the test share with its numbers and its win probability
for the campaign's winning metric (``campaigns.stats``, the one statistics module).

Trials are the variant's recipients (sent). Successes: unique opens (privacy-proxy opens left out when the
store says so), clicks, or recipients with an attributed order; for revenue per recipient each arm's mean
and spread come from the per-recipient attributed revenue (net of refunds), summed and squared in SQL.
Two queries: the KPI rows per variant and the per-recipient revenue sums.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import DecimalField, F, Max, Sum

from .. import stats
from ..models import AttributedOrder, Campaign
from .kpis import DateRange, Kpi, kpis
from .plans import without_jit

MONEY = DecimalField(max_digits=14, decimal_places=2)


def _revenue_moments(campaign: Campaign) -> dict[str, tuple[float, float]]:
    """Per variant of the test share: (sum, sum of squares) of revenue per recipient."""
    per_message = (AttributedOrder.objects.filter(campaign_id=campaign.pk, message__ab_test=True)
                   .values("message_id")
                   .annotate(lab=Max("message__variant"), rev=Sum(F("revenue") - F("refunded"), output_field=MONEY))
                   .order_by().values("lab", "rev"))
    inner, params = per_message.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT lab, SUM(rev), SUM(rev * rev) FROM ({inner}) per_message GROUP BY lab", params)
        return {label: (float(s or 0), float(sq or 0)) for label, s, sq in cursor.fetchall()}


@without_jit
def ab_table(campaign: Campaign, dates: DateRange | None = None) -> list[dict]:
    """One row per variant of the test share (empty without an A/B test)."""
    rows: list[Kpi] = kpis(campaign.store_id, dates, ("variant",), campaign_id=campaign.pk, ab_test=True)
    if len(rows) < 2:
        return []
    metric = campaign.winning_metric
    moments = _revenue_moments(campaign) if metric == Campaign.Metric.REVENUE_PER_RECIPIENT else {}
    arms = []
    for row in rows:
        label = row.key["variant"]
        successes = {Campaign.Metric.OPEN_RATE: row.opened, Campaign.Metric.CLICK_RATE: row.clicked,
                     Campaign.Metric.ORDER_RATE: row.converted_recipients}.get(metric, 0)
        total, total_sq = moments.get(label, (float(row.revenue), 0.0))
        arms.append(stats.Arm(label, row.sent, successes, total, total_sq))
    if metric == Campaign.Metric.REVENUE_PER_RECIPIENT:
        probabilities = stats.win_probabilities_means(arms)
    else:
        probabilities = stats.win_probabilities(arms)
    table = []
    for row, arm in zip(rows, arms, strict=True):
        value = arm.mean if metric == Campaign.Metric.REVENUE_PER_RECIPIENT else arm.rate
        table.append({**row.as_dict(), "metric": metric, "metric_value": value,
                      "win_probability": probabilities[arm.label], "winner": arm.label == campaign.winner})
    return table
