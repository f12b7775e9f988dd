"""Holdout lift: did the email make people buy who would not have anyway?

For a campaign (or a flow), two groups of outbox rows: recipients (``state = sent``, every variant) and
the holdout (``variant = "holdout"``, skipped, never sent). For each row, the orders its customer placed
within the attribution window (the longer of the store's click and open windows) after the row's time
(``sent_at``; for a holdout row, the time it was decided, ``created_at``) count, whatever email they
were attributed to: a holdout member never gets one. Cancelled orders count neither as an order nor as
money; refunds net out.

One SQL statement: a per-row subquery (orders and net revenue) grouped by arm into n, converted, sum and
sum of squares, which ``campaigns.stats.rate_lift`` (conversion rate) and ``mean_lift`` (revenue per
recipient, Welch) turn into differences with 95% confidence intervals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from shopconnect.timeline import vocabulary as v
from shopconnect.timeline.aggregates import MONEY
from shopconnect.timeline.models import Event

from .. import stats
from ..models import HOLDOUT, Message
from .attribution import Windows


@dataclass(frozen=True)
class HoldoutLift:
    recipients: stats.Arm
    holdout: stats.Arm
    recipients_converted: int
    holdout_converted: int
    window_days: int
    conversion: stats.Lift | None
    revenue_per_recipient: stats.Lift | None

    def as_dict(self) -> dict:
        def lift(value: stats.Lift | None):
            if value is None:
                return None
            return {"treated": value.treated, "holdout": value.control, "difference": value.difference,
                    "ci_low": value.low, "ci_high": value.high, "relative": value.relative,
                    "significant": value.significant}

        return {
            "window_days": self.window_days,
            "recipients": self.recipients.trials, "holdout": self.holdout.trials,
            "recipients_converted": self.recipients_converted, "holdout_converted": self.holdout_converted,
            "recipients_revenue": round(self.recipients.total, 2), "holdout_revenue": round(self.holdout.total, 2),
            "conversion_rate": lift(self.conversion), "revenue_per_recipient": lift(self.revenue_per_recipient),
        }


def _orders_after(window_days: int):
    """Order events of the outer row's customer in (ref, ref + window], not cancelled."""
    end = ExpressionWrapper(OuterRef("ref") + Value(timedelta(days=window_days)),
                            output_field=DateTimeField())
    cancelled = Event.objects.filter(customer_id=OuterRef("customer_id"), type=v.ORDER_CANCELLED,
                                     order_ref=OuterRef("order_ref"))
    return Event.objects.filter(customer_id=OuterRef("customer_id"), type=v.ORDER_PLACED,
                                occurred_at__gt=OuterRef("ref"), occurred_at__lte=end).filter(~Exists(cancelled))


def holdout_lift(store_id: int, **filters) -> HoldoutLift | None:
    """Lift of the rows matching ``filters`` (``campaign_id=`` or ``flow_id=``); None without a holdout."""
    rows = Message.objects.filter(store_id=store_id, **filters).filter(
        Q(state=Message.State.SENT) | Q(variant=HOLDOUT, state=Message.State.SKIPPED))
    if not rows.filter(variant=HOLDOUT).exists():
        return None
    windows = Windows.for_store(store_id)
    days = max(windows.click_days, windows.open_days)
    orders = _orders_after(days)
    refunds = (Event.objects.filter(customer_id=OuterRef("customer_id"), type=v.ORDER_REFUNDED,
                                    order_ref=OuterRef("order_ref")).exclude(order_ref="")
               .order_by().values("order_ref").annotate(total=Sum("amount")).values("total"))
    zero = Value(Decimal("0"), output_field=MONEY)
    net = orders.annotate(net=ExpressionWrapper(
        Coalesce(F("amount"), zero) - Coalesce(Subquery(refunds, output_field=MONEY), zero), output_field=MONEY))
    per_row = rows.annotate(
        ref=Coalesce(F("sent_at"), F("created_at")),
    ).annotate(
        arm=Case(When(variant=HOLDOUT, then=Value(HOLDOUT)), default=Value("sent")),
        orders=Coalesce(Subquery(orders.order_by().values("customer_id").annotate(n=Count("id")).values("n")),
                        Value(0)),
        revenue=Coalesce(Subquery(net.order_by().values("customer_id").annotate(s=Sum("net")).values("s"),
                                  output_field=MONEY), zero),
    ).values("arm", "orders", "revenue")
    inner, params = per_row.query.sql_with_params()
    sql = (f"SELECT arm, COUNT(*), SUM(CASE WHEN orders > 0 THEN 1 ELSE 0 END), SUM(revenue), "
           f"SUM(revenue * revenue) FROM ({inner}) per_row GROUP BY arm")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = {arm: (n, converted, float(total or 0), float(total_sq or 0))
                 for arm, n, converted, total, total_sq in cursor.fetchall()}
    treated_n, treated_conv, treated_sum, treated_sq = found.get("sent", (0, 0, 0.0, 0.0))
    hold_n, hold_conv, hold_sum, hold_sq = found.get(HOLDOUT, (0, 0, 0.0, 0.0))
    treated = stats.Arm("recipients", treated_n, treated_conv, treated_sum, treated_sq)
    holdout = stats.Arm(HOLDOUT, hold_n, hold_conv, hold_sum, hold_sq)
    return HoldoutLift(
        recipients=treated, holdout=holdout, recipients_converted=treated_conv, holdout_converted=hold_conv,
        window_days=days,
        conversion=stats.rate_lift(treated_conv, treated_n, hold_conv, hold_n),
        revenue_per_recipient=stats.mean_lift(treated, holdout),
    )
