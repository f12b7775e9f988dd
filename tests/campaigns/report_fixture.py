"""A small store whose every report number is counted by hand in the tests (see ``build``'s comments).

Campaign "Spring" (A/B test share A, B; then the rest got B; holdout of two), targeting segment "Ladies",
and flow "Welcome". T0 = 2026-03-02 15:00 UTC. Attribution windows: the defaults (5 days).

 msg  who  what                     engagement                               orders (attributed)
 m1   c1   Spring A, test share     human open, click                        O1 100.00 (refund 20)
 m2   c2   Spring A, test share     machine open only                        O4 25.00 cancelled (none)
 m3   c3   Spring B, test share     bounced (c3 suppressed)
 m4   c4   Spring B, test share     human open, unsubscribed (c4 unsubscribed)
 m5   c5   Spring B, rest (T0+1d)   human open, complaint
 m6   c6   Spring B, rest (T0+1d)   human open, click                        O2 50.00, O3 30.00
 h1   h1   Spring holdout                                                     H1 40.00 at T0+2d (no email)
 h2   h2   Spring holdout                                                     H2 60.00 at T0+6d (outside)
 m7   c7   Welcome step 1 (T0)      click                                    O5 70.00
 m8   c2   Welcome step 1 (T0)      nothing
 n1        no email consent, nothing
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from campaigns.models import Campaign, Flow, FlowStep, Message, Suppression
from segments.models import Segment, SegmentMembership, SegmentSnapshot

from .conftest import T0
from .reporting import campaign, cancel, customer, email, message, order, refund

H, D = timedelta(hours=1), timedelta(days=1)
RANGE = (date(2026, 3, 1), date(2026, 3, 7))
# Depends on an event type the fixture never records: the segment engine leaves the memberships set here.
STATIC = {"version": 1, "type": "performed", "event": "search.submitted"}


@dataclass
class Fixture:
    spring: Campaign
    welcome: Flow
    step: FlowStep
    segment: Segment
    messages: dict


def build(shop) -> Fixture:
    c = {name: customer(shop, f"{name}@example.com") for name in ("c1", "c2", "c3", "c4", "c5", "c6", "c7", "h1",
                                                                  "h2")}
    customer(shop, "n1@example.com", consent="not_subscribed")
    segment = Segment.objects.create(store=shop, name="Ladies", definition=STATIC)
    for name in ("c1", "c2", "c3", "h1"):
        SegmentMembership.objects.create(segment=segment, customer=c[name], entered_at=T0 - 30 * D)
    SegmentMembership.objects.create(segment=segment, customer=c["c4"], entered_at=T0 - 30 * D, exited_at=T0 - D)
    SegmentSnapshot.objects.create(segment=segment, day=date(2026, 3, 1), size=3)
    SegmentSnapshot.objects.create(segment=segment, day=date(2026, 3, 3), size=4)
    SegmentSnapshot.objects.create(segment=segment, day=date(2026, 2, 1), size=1)  # before the range

    spring = campaign(shop, "Spring", winning_metric=Campaign.Metric.CLICK_RATE, holdout_percent=20, winner="B")
    spring.include_segments.add(segment)
    welcome = Flow.objects.create(store=shop, name="Welcome", trigger="event", trigger_event_type="customer.created")
    step = FlowStep.objects.create(flow=welcome, position=0, kind="send_email", name="Hello")

    m = {}
    m["m1"] = message(shop, c["c1"], T0, campaign=spring, variant="A", ab_test=True)
    m["m2"] = message(shop, c["c2"], T0, campaign=spring, variant="A", ab_test=True)
    m["m3"] = message(shop, c["c3"], T0, campaign=spring, variant="B", ab_test=True)
    m["m4"] = message(shop, c["c4"], T0, campaign=spring, variant="B", ab_test=True)
    m["m5"] = message(shop, c["c5"], T0 + D, campaign=spring, variant="B")
    m["m6"] = message(shop, c["c6"], T0 + D, campaign=spring, variant="B")
    for name in ("h1", "h2"):
        m[name] = message(shop, c[name], None, campaign=spring, holdout=True)
        Message.objects.filter(pk=m[name].pk).update(created_at=T0)
    m["m7"] = message(shop, c["c7"], T0, flow=welcome, step=step)
    m["m8"] = message(shop, c["c2"], T0, flow=welcome, step=step)

    email(m["m1"], "email.opened", T0 + H, machine=False)
    email(m["m1"], "email.opened", T0 + 2 * H, machine=False)  # a second open: still one unique open
    email(m["m1"], "email.clicked", T0 + 2 * H)
    email(m["m2"], "email.opened", T0 + timedelta(seconds=5), machine=True)
    email(m["m3"], "email.bounced", T0 + timedelta(minutes=1), bounce_type="hard")
    Suppression.objects.create(store=shop, email="c3@example.com", reason="hard_bounce")
    email(m["m4"], "email.opened", T0 + 3 * H, machine=False)
    email(m["m4"], "email.unsubscribed", T0 + 4 * H)
    c["c4"].email_consent = "unsubscribed"
    c["c4"].save()
    email(m["m5"], "email.opened", T0 + D + H, machine=False)
    email(m["m5"], "email.complained", T0 + D + 2 * H)
    email(m["m6"], "email.opened", T0 + D + H, machine=False)
    email(m["m6"], "email.clicked", T0 + D + H)
    email(m["m7"], "email.clicked", T0 + 30 * timedelta(minutes=1))

    order(shop, c["c1"], "O1", "100.00", T0 + D)
    refund(shop, c["c1"], "O1", "20.00", T0 + 2 * D)
    order(shop, c["c2"], "O4", "25.00", T0 + D)
    cancel(shop, c["c2"], "O4", T0 + D + H)
    order(shop, c["c6"], "O2", "50.00", T0 + 2 * D)
    order(shop, c["c6"], "O3", "30.00", T0 + 2 * D + H)
    order(shop, c["h1"], "H1", "40.00", T0 + 2 * D)
    order(shop, c["h2"], "H2", "60.00", T0 + 6 * D)
    order(shop, c["c7"], "O5", "70.00", T0 + H)
    return Fixture(spring, welcome, step, segment, m)
