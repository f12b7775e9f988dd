"""Flow holdout: a deterministic share of a flow's customers never gets its emails, recorded as skipped
``holdout`` rows, while their enrollment goes on (their orders are the control group)."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.core import mail

from campaigns.campaign.assign import in_holdout
from campaigns.models import Enrollment, Message

from . import campaign_factory as f
from .conftest import T0
from .test_flows import fire, make_flow


def test_flow_holdout_member_gets_no_email_and_a_skipped_holdout_row(shop, template):
    flow = make_flow(shop, [("send_email", {"skip_smart_sending": True}, template),
                            ("delay", {"hours": 1}, None),
                            ("send_email", {"skip_smart_sending": True}, template)], holdout_percent=30)
    people = f.customers(shop, 20)
    held = {p.pk for p in people if in_holdout(f"flow:{flow.pk}", p.pk, 30)}
    assert 0 < len(held) < 20  # this fixture has both groups
    with time_machine.travel(T0, tick=False):
        for person in people:
            fire(shop, person)
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        from campaigns.tasks import advance_flows, send_messages

        advance_flows()
        send_messages()
    held_emails = {p.email for p in people if p.pk in held}
    assert len(mail.outbox) == 2 * (20 - len(held))
    assert not {m.to[0] for m in mail.outbox} & held_emails
    rows = Message.objects.filter(flow=flow, customer_id__in=held)
    assert rows.count() == 2 * len(held)  # one per send step
    assert set(rows.values_list("variant", "state", "skip_reason")) == {("holdout", "skipped", "holdout")}
    # the enrollment went on to the end like everyone else's
    assert set(Enrollment.objects.filter(flow=flow).values_list("status", flat=True)) == {"completed"}


def test_flow_admin_shows_ab_split_numbers_and_win_probability(shop, template, make_user, client):
    from campaigns.campaign.abtest import flow_step_numbers

    flow = make_flow(shop, [("ab_split", {"variants": [{"label": "A", "weight": 50}, {"label": "B", "weight": 50}],
                                          "metric": "open_rate"}, None),
                            ("send_email", {"skip_smart_sending": True}, template)])
    people = f.customers(shop, 16)
    with time_machine.travel(T0, tick=False):
        for person in people:
            fire(shop, person)
    sent = {label: list(Message.objects.filter(flow=flow, variant=label, state="sent")) for label in "AB"}
    assert len(sent["A"]) + len(sent["B"]) == 16 == len(mail.outbox)
    f.engage(shop, sent["A"])  # every A recipient opened, no B recipient did
    f.engage(shop, sent["A"][:1], kind="email.clicked")
    numbers = {n.label: (n.recipients, n.opens, n.clicks) for n in flow_step_numbers(flow, flow.steps.get(position=0))}
    assert numbers == {"A": (len(sent["A"]), len(sent["A"]), 1), "B": (len(sent["B"]), 0, 0)}
    client.force_login(make_user(shop))
    page = client.get(f"/admin/campaigns/flow/{flow.pk}/change/").content.decode()
    assert f"<td>A</td><td>{len(sent['A'])}</td><td>{len(sent['A'])}</td><td>1</td>" in page
    assert "win probability by open rate" in page
