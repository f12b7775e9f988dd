"""A/B tests: each variant's numbers from SQL, the win probabilities and the decision.

``variant_arms`` is shared by campaigns (the test share: ``ab_test`` rows) and the flow A/B split step
(sent rows of the flow by variant): per variant, recipients (sent rows), unique opens (the reports'
``MessageOutcome``; machine opens left out when the store's provider says so, the default), unique clicks,
buyers and revenue net of refunds from ``AttributedOrder``. All of it is a handful of GROUP BY queries
whatever the number of recipients. ``campaigns.stats`` turns them into win probabilities.

``decide_tests`` is the scheduled decision: for each campaign in ``testing``, an early winner when one
variant's win probability reaches the campaign's threshold with ``min_sample`` recipients per variant;
once ``test_ends_at`` has passed, a winner only if one reached the threshold, else "no winner: not enough
data" and the rest gets the marketer's default variant (``CampaignVariant.is_default``, else the first).
Flow A/B splits follow the same rule (``split_verdict``, ``decide_split`` for splits with a test period).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

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


def default_variant(campaign: Campaign) -> str:
    """The variant the rest gets when the test names no winner: the marketer's default, else the first."""
    labels = list(campaign.variants.order_by("-is_default", "label").values_list("label", flat=True)[:1])
    return labels[0] if labels else ""


def decide_tests(now: datetime | None = None) -> dict[str, int]:
    """The scheduled task: decide every campaign whose test is running; send the winner to the rest, or,
    when the test ended without evidence for one, the default variant (and say so)."""
    from .launch import send_rest

    now = now or timezone.now()
    decided = queued = 0
    for campaign in Campaign.objects.filter(status=Campaign.Status.TESTING, started_at__lte=now):
        decision = decide(campaign, now)
        if not decision.final:
            continue
        label = decision.winner or default_variant(campaign)
        reason = decision.reason if decision.winner else f"{decision.reason}; the rest got the default variant {label}"
        # One transaction: the decision and the rest's outbox rows are written together or not at all.
        with transaction.atomic():
            won = Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.TESTING).update(
                status=Campaign.Status.SENDING, winner=decision.winner or "", winner_reason=reason[:300])
            if won:  # another worker may have decided it first: only the one that flipped it sends the rest
                campaign.winner = decision.winner or ""
                decided += 1
                queued += send_rest(campaign, label, now)
    return {"decided": decided, "queued": queued}


SPLIT_THRESHOLD = 0.9


def _split_decision(flow: Flow, step: FlowStep, test_over: bool) -> stats.Decision:
    config = step.config or {}
    metric = config.get("metric") or "order_rate"
    numbers = flow_step_numbers(flow, step)
    return stats.pick_winner([n.arm(metric) for n in numbers], metric=metric,
                             threshold=float(config.get("win_probability") or SPLIT_THRESHOLD),
                             min_sample=int(config.get("min_sample") or 0), test_over=test_over)


def split_verdict(flow: Flow, step: FlowStep) -> str:
    """What the flow's page says about an A/B split: its decision, else the evidence so far judged by
    the same rule (never a winner without evidence: "no winner: not enough data")."""
    if step.decided_at is not None:
        return step.decision_reason
    decision = _split_decision(flow, step, test_over=True)
    if decision.winner:
        return f"{decision.winner} is ahead: {decision.reason.removeprefix('test ended: ')}"
    return decision.reason


def decide_split(flow: Flow, step: FlowStep, now: datetime) -> dict | None:
    """An A/B split with a test period (``"test_days"``): once it is over (counted from the split's first
    decision), decide once, store it on the step, and return the variant everyone gets from then on:
    the winner, or without evidence the ``"default"`` variant (else the first). None while testing."""
    config = step.config or {}
    variants = [v for v in config.get("variants") or [] if isinstance(v, dict)]
    if not config.get("test_days") or not variants:
        return None
    by_label = {str(v.get("label")): v for v in variants}
    if step.decided_at is None:
        from ..models import FlowDecision

        first = FlowDecision.objects.filter(step=step, kind=FlowDecision.Kind.BRANCHED).order_by("at").values_list(
            "at", flat=True).first()
        if first is None or now < first + timedelta(days=float(config["test_days"])):
            return None
        decision = _split_decision(flow, step, test_over=True)
        label = decision.winner or str(config.get("default") or variants[0].get("label"))
        reason = decision.reason if decision.winner else f"{decision.reason}; everyone now gets the default {label}"
        FlowStep.objects.filter(pk=step.pk, decided_at__isnull=True).update(
            decided_variant=label[:32], decision_reason=reason[:300], decided_at=now)
        step.refresh_from_db(fields=["decided_variant", "decision_reason", "decided_at"])
    return by_label.get(step.decided_variant) or variants[0]
