"""A/B tests: each variant's numbers from SQL, the win probabilities and the decision.

``variant_arms`` is shared by campaigns (the test share: ``ab_test`` rows) and the flow A/B split step
(sent rows of the flow by variant): per variant, recipients (sent rows), unique opens (the reports'
``MessageOutcome``; machine opens left out when the store's provider says so, the default), unique clicks,
buyers and revenue net of refunds from ``AttributedOrder``. All of it is a handful of GROUP BY queries
whatever the number of recipients. ``campaigns.stats`` turns them into win probabilities.

``decide_tests`` is the scheduled decision: for each campaign in ``testing``, an early winner when one
variant's win probability reaches the campaign's threshold with ``min_sample`` recipients per variant,
else the best variant once ``test_ends_at`` has passed; then the rest of the audience gets the winner.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

from .. import stats
from ..models import AttributedOrder, Campaign, Flow, FlowStep, Message, MessageOutcome
from ..reports.kpis import open_field


@dataclass(frozen=True, slots=True)
class VariantNumbers:
    label: str
    recipients: int = 0
    opens: int = 0
    clicks: int = 0
    buyers: int = 0
    revenue: float = 0.0
    revenue_sq: float = 0.0

    def arm(self, metric: str) -> stats.Arm:
        successes = {"open_rate": self.opens, "click_rate": self.clicks, "order_rate": self.buyers}.get(metric, 0)
        return stats.Arm(self.label, self.recipients, successes=min(successes, self.recipients),
                         total=self.revenue, total_sq=self.revenue_sq)


def _engaged(sent: QuerySet[Message], store_id: int) -> dict[str, tuple[int, int]]:
    """Per variant: unique opens and unique clicks of the sent rows, from the per-message outcomes the
    reports keep (``MessageOutcome``: one row per sent message, first open / human open / click)."""
    opened = Q(**{f"{open_field(store_id)}__isnull": False})
    rows = (MessageOutcome.objects.filter(message__in=sent).order_by().values("variant")
            .annotate(opens=Count("pk", filter=opened), clicks=Count("pk", filter=Q(clicked_at__isnull=False))))
    return {row["variant"]: (row["opens"], row["clicks"]) for row in rows}


def _orders(orders: QuerySet[AttributedOrder]) -> dict[str, tuple[int, float, float]]:
    """Per variant: buyers, revenue net of refunds, and the sum over buyers of their revenue squared."""
    inner, params = (orders.order_by().values("variant", "customer_id")
                     .annotate(r=Sum(F("revenue") - F("refunded"))).values("variant", "r").query.sql_with_params())
    sql = f"SELECT variant, COUNT(*), SUM(r), SUM(r * r) FROM ({inner}) per_buyer GROUP BY variant"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {v: (int(n), float(s or 0), float(sq or 0)) for v, n, s, sq in cursor.fetchall()}


def variant_arms(labels: Sequence[str], store_id: int, messages: QuerySet[Message],
                 orders: QuerySet[AttributedOrder]) -> list[VariantNumbers]:
    sent = messages.filter(state=Message.State.SENT).order_by()
    recipients = dict(sent.values("variant").annotate(n=Count("id")).values_list("variant", "n"))
    engaged = _engaged(sent, store_id)
    bought = _orders(orders)
    return [VariantNumbers(label, recipients.get(label, 0), *engaged.get(label, (0, 0)),
                           *bought.get(label, (0, 0.0, 0.0))) for label in labels]


def campaign_numbers(campaign: Campaign) -> list[VariantNumbers]:
    tested = Message.objects.filter(campaign_id=campaign.pk, ab_test=True)
    # The configured variants, and any label the test share was sent with (a variant deleted since).
    labels = sorted(set(campaign.variants.values_list("label", flat=True))
                    | set(tested.order_by().values_list("variant", flat=True).distinct()))
    return variant_arms(labels, campaign.store_id, tested,
                        AttributedOrder.objects.filter(campaign_id=campaign.pk, message__ab_test=True))


def flow_step_numbers(flow: Flow, step: FlowStep) -> list[VariantNumbers]:
    labels = [str(v.get("label"))[:32] for v in (step.config or {}).get("variants") or [] if isinstance(v, dict)]
    return variant_arms(labels, flow.store_id, Message.objects.filter(flow_id=flow.pk, variant__in=labels),
                        AttributedOrder.objects.filter(flow_id=flow.pk, variant__in=labels))


def probabilities(numbers: Sequence[VariantNumbers], metric: str) -> dict[str, float]:
    arms = [n.arm(metric) for n in numbers]
    if metric == Campaign.Metric.REVENUE_PER_RECIPIENT:
        return stats.win_probabilities_means(arms)
    return stats.win_probabilities(arms)


def decide(campaign: Campaign, now: datetime) -> stats.Decision:
    numbers = campaign_numbers(campaign)
    test_over = campaign.test_ends_at is not None and now >= campaign.test_ends_at
    return stats.pick_winner([n.arm(campaign.winning_metric) for n in numbers], metric=campaign.winning_metric,
                             threshold=float(campaign.win_probability), min_sample=campaign.min_sample,
                             test_over=test_over)


def decide_tests(now: datetime | None = None) -> dict[str, int]:
    """The scheduled task: decide every campaign whose test is running; send the winner to the rest."""
    from .launch import send_rest

    now = now or timezone.now()
    decided = queued = 0
    for campaign in Campaign.objects.filter(status=Campaign.Status.TESTING, started_at__lte=now):
        decision = decide(campaign, now)
        if decision.winner is None:
            continue
        # One transaction: the decision and the rest's outbox rows are written together or not at all.
        with transaction.atomic():
            won = Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.TESTING).update(
                status=Campaign.Status.SENDING, winner=decision.winner, winner_reason=decision.reason[:300])
            if won:  # another worker may have decided it first: only the one that flipped it sends the rest
                campaign.winner = decision.winner
                decided += 1
                queued += send_rest(campaign, decision.winner, now)
    return {"decided": decided, "queued": queued}
