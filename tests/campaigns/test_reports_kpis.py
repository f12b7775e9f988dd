"""Every KPI, dashboard and lift number on the hand-counted fixture of ``report_fixture``."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from scipy import stats as st

from campaigns.reports.abtest import ab_table
from campaigns.reports.dashboard import campaign_report, dashboard, flow_report, segment_report
from campaigns.reports.kpis import DateRange

from .conftest import T0
from .report_fixture import RANGE, D, build

DATES = DateRange(*RANGE)


@pytest.fixture
def fx(shop):
    return build(shop)


def pick(row: dict, *names):
    return tuple(row[n] for n in names)


COUNTS = ("sent", "delivered", "bounced", "opened", "clicked", "unsubscribed", "complained", "conversions",
          "converted_recipients", "revenue")


def test_campaign_totals_and_rates(fx):
    report = campaign_report(fx.spring, DATES)
    totals = report["totals"]
    assert pick(totals, *COUNTS) == (6, 5, 1, 4, 2, 1, 1, 3, 2, "160.00")
    assert totals["bounce_rate"] == pytest.approx(1 / 6)
    assert totals["open_rate"] == pytest.approx(4 / 5)  # the machine open of m2 is left out
    assert totals["click_rate"] == pytest.approx(2 / 5)
    assert totals["click_to_open"] == pytest.approx(2 / 4)
    assert totals["unsubscribe_rate"] == pytest.approx(1 / 5)
    assert totals["complaint_rate"] == pytest.approx(1 / 5)
    assert totals["conversion_rate"] == pytest.approx(2 / 5)
    assert totals["revenue_per_recipient"] == pytest.approx(160 / 5)
    assert totals["average_order_value"] == pytest.approx(160 / 3)


def test_machine_opens_count_when_the_store_keeps_them(fx, shop):
    shop.email_provider.exclude_machine_opens = False
    shop.email_provider.save()
    totals = campaign_report(fx.spring, DATES)["totals"]
    assert (totals["opened"], totals["open_rate"]) == (5, 1.0)


def test_campaign_per_variant_and_per_day(fx):
    report = campaign_report(fx.spring, DATES)
    variants = {v["variant"]: pick(v, *COUNTS) for v in report["variants"]}
    assert variants == {"A": (2, 2, 0, 1, 1, 0, 0, 1, 1, "80.00"), "B": (4, 3, 1, 3, 1, 1, 1, 2, 1, "80.00")}
    days = {d["day"]: pick(d, *COUNTS) for d in report["days"]}
    assert len(days) == 7  # every day of the range, empty ones as zeros
    assert days[date(2026, 3, 2)] == (4, 3, 1, 2, 1, 1, 0, 1, 1, "80.00")
    assert days[date(2026, 3, 3)] == (2, 2, 0, 2, 1, 0, 1, 2, 1, "80.00")
    assert days[date(2026, 3, 5)] == (0, 0, 0, 0, 0, 0, 0, 0, 0, "0.00")


def test_flow_report_per_step(fx):
    report = flow_report(fx.welcome, DATES)
    assert pick(report["totals"], *COUNTS) == (2, 2, 0, 0, 1, 0, 0, 1, 1, "70.00")
    assert report["totals"]["click_to_open"] is None  # no opens: no ratio rather than a division by zero
    assert report["totals"]["revenue_per_recipient"] == pytest.approx(35.0)
    (step,) = report["steps"]
    assert step["step"] == fx.step.pk and step["step_name"] == "Hello" and step["revenue"] == "70.00"
    assert report["holdout_lift"] is None


def test_segment_report_facts_and_targeted_versus_untargeted(fx):
    report = segment_report(fx.segment, DATES)
    seg = report["segment"]
    # members c1, c2, c3, h1 (c4 left); lifetime values 80 (100 - 20 refunded), 0 (cancelled), 0, 40
    assert (seg["size"], seg["average_lifetime_value"], seg["reachable"]) == (4, Decimal("30.00"), 3)
    assert seg["reachable_share"] == pytest.approx(0.75)  # c3 is suppressed
    assert pick(report["targeted"], *COUNTS) == (3, 2, 1, 1, 1, 0, 0, 1, 1, "80.00")  # m1, m2, m3 (Spring)
    assert pick(report["untargeted"], *COUNTS) == (1, 1, 0, 0, 0, 0, 0, 0, 0, "0.00")  # m8 (Welcome to c2)


def test_dashboard_numbers(fx):
    with time_machine.travel(T0 + 3 * D, tick=False):
        board = dashboard(fx.spring.store_id, DATES)
    by_day = {d["day"]: (d["orders"], d["revenue"]) for d in board["revenue_over_time"]}
    assert by_day[date(2026, 3, 2)] == (1, Decimal("70.00"))  # O5 (Welcome)
    assert by_day[date(2026, 3, 3)] == (1, Decimal("80.00"))  # O1 net of its refund
    assert by_day[date(2026, 3, 4)] == (2, Decimal("80.00"))  # O2 + O3
    assert sum(o for o, _ in by_day.values()) == 4 and board["attributed_revenue"] == Decimal("230.00")
    assert [(c["name"], c["orders"], c["revenue"]) for c in board["campaigns"]] == [("Spring", 3, Decimal("160.00"))]
    assert [(f["name"], f["orders"], f["revenue"]) for f in board["flows"]] == [("Welcome", 1, Decimal("70.00"))]
    (growth,) = board["segment_growth"]
    assert (growth["name"], growth["first"], growth["last"], growth["change"]) == ("Ladies", 3, 4, 1)
    # engaged: c1, c5, c6, c7 (c2's only open was a proxy's); unengaged: c2, h1, h2; suppressed: c3, c4
    assert board["list_health"] == {"total": 10, "suppressed": 2, "engaged": 4, "unengaged": 3, "not_subscribed": 1}
    health = board["deliverability"]
    assert pick(health, "sent", "delivered", "bounced", "complained") == (8, 7, 1, 1)
    assert health["bounce_rate"] == pytest.approx(1 / 8) and health["complaint_rate"] == pytest.approx(1 / 7)
    assert len(health["alerts"]) == 2 and "Complaint rate 14.29%" in health["alerts"][0]


def test_list_health_counts_machine_opens_when_the_store_keeps_them(fx, shop):
    from campaigns.reports.dashboard import list_health

    shop.email_provider.exclude_machine_opens = False
    shop.email_provider.save()
    with time_machine.travel(T0 + 3 * D, tick=False):
        health = list_health(shop.pk)
    assert (health["engaged"], health["unengaged"]) == (5, 2)
    with time_machine.travel(T0 + 92 * D, tick=False):  # 90 days later nobody is engaged any more
        assert list_health(shop.pk)["engaged"] == 0


def test_deliverability_alerts_only_past_the_thresholds(shop):
    from campaigns.reports.dashboard import deliverability

    from .reporting import customer, email, message

    people = [customer(shop, f"x{i}@example.com") for i in range(50)]
    msgs = [message(shop, who, T0) for who in people]
    email(msgs[0], "email.bounced", T0)  # 1 / 50 = 2%: not above 2%
    assert deliverability(shop.pk, DATES)["alerts"] == []
    email(msgs[1], "email.complained", T0)  # 1 / 49 delivered: above 0.1%
    alerts = deliverability(shop.pk, DATES)["alerts"]
    assert len(alerts) == 1 and alerts[0].startswith("Complaint rate")


def test_ab_table_win_probability_matches_the_closed_form(fx):
    rows = {r["variant"]: r for r in ab_table(fx.spring, DATES)}
    assert set(rows) == {"A", "B"}  # the test share only: m5, m6 (the rest) are not in it
    assert (rows["A"]["sent"], rows["A"]["clicked"], rows["B"]["sent"], rows["B"]["clicked"]) == (2, 1, 2, 0)
    assert rows["A"]["metric_value"] == 0.5 and rows["B"]["metric_value"] == 0.0
    # Evan Miller: P(B > A) = sum_i B(aA+i, bA+bB) / ((bB+i) B(1+i, bB) B(aA, bA)), aA=2 bA=2 aB=1 bB=3

    def beta(a, b):
        return math.exp(math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b))

    p_b = sum(beta(2 + i, 2 + 3) / ((3 + i) * beta(1 + i, 3) * beta(2, 2)) for i in range(1))
    assert p_b == pytest.approx(0.2)
    assert rows["B"]["win_probability"] == pytest.approx(p_b, abs=1e-4)
    assert rows["A"]["win_probability"] == pytest.approx(1 - p_b, abs=1e-4)
    assert rows["B"]["winner"] is True


def test_holdout_lift_matches_an_independent_computation(fx):
    lift = campaign_report(fx.spring, DATES)["holdout_lift"]
    # recipients: 6 rows, c1 (80 net) and c6 (50 + 30) bought within 5 days; holdout: h1 40, h2 outside
    assert pick(lift, "recipients", "recipients_converted", "holdout", "holdout_converted") == (6, 2, 2, 1)
    conv = lift["conversion_rate"]
    p1, p0 = 2 / 6, 1 / 2
    se = math.sqrt(p1 * (1 - p1) / 6 + p0 * (1 - p0) / 2)
    assert conv["difference"] == pytest.approx(p1 - p0)
    assert (conv["ci_low"], conv["ci_high"]) == (pytest.approx(p1 - p0 - 1.959964 * se),
                                                 pytest.approx(p1 - p0 + 1.959964 * se))
    revenue = lift["revenue_per_recipient"]
    treated, control = [80, 0, 0, 0, 0, 80], [40, 0]
    welch = st.ttest_ind(treated, control, equal_var=False).confidence_interval(0.95)
    assert revenue["treated"] == pytest.approx(160 / 6) and revenue["holdout"] == pytest.approx(20)
    assert (revenue["ci_low"], revenue["ci_high"]) == (pytest.approx(welch.low), pytest.approx(welch.high))
    assert revenue["relative"] == pytest.approx((160 / 6 - 20) / 20)
