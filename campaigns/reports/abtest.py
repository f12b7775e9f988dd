"""The A/B table of a campaign: each variant of the test share with its KPI row, and the numbers and win
probability the A/B decision itself uses (``campaigns.campaign.abtest``), so the page and the decision
can never disagree. Win probabilities come from ``campaigns.stats``, the one statistics module.
"""

from __future__ import annotations

from ..campaign.abtest import campaign_numbers, probabilities
from ..models import Campaign
from .kpis import DateRange, Kpi, kpis


def ab_table(campaign: Campaign, dates: DateRange | None = None) -> list[dict]:
    """One row per variant of the test share (empty without an A/B test)."""
    rows: list[Kpi] = kpis(campaign.store_id, dates, ("variant",), campaign_id=campaign.pk, ab_test=True)
    if len(rows) < 2:
        return []
    metric = campaign.winning_metric
    numbers = {n.label: n for n in campaign_numbers(campaign)}
    chances = probabilities(list(numbers.values()), metric)
    table = []
    for row in rows:
        label = row.key["variant"]
        arm = numbers[label].arm(metric) if label in numbers else None
        value = (arm.mean if metric == Campaign.Metric.REVENUE_PER_RECIPIENT else arm.rate) if arm else None
        table.append({**row.as_dict(), "metric": metric, "metric_value": value,
                      "win_probability": chances.get(label, 0.0), "winner": label == campaign.winner})
    return table
