"""Campaign audience, launch, holdout, the A/B test share and cancel."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from campaigns.campaign import assign
from campaigns.campaign.audience import audience, preview
from campaigns.campaign.launch import LaunchError, cancel, launch
from campaigns.models import Campaign, EmailTemplate, Message, Suppression
from campaigns.tasks import send_messages
from shopconnect.timeline.models import Customer

from . import campaign_factory as f
from .conftest import T0


def test_audience_is_included_minus_excluded_current_members_with_email(shop, template, make_store):
    people = f.customers(shop, 8)
    vip, lapsed, gone = people[0:5], people[4:6], people[6]
    deleted = people[1]
    Customer.objects.filter(pk=deleted.pk).update(deleted_at=T0)
    no_email = f.customers(shop, 1)[0]
    Customer.objects.filter(pk=no_email.pk).update(email=None)
    other_store = make_store()
    foreign = f.customers(other_store, 1)
    included = f.segment(shop, vip + [no_email] + foreign, exited=[gone])
    also = f.segment(shop, [people[7]])
    excluded = f.segment(shop, lapsed)
    c = f.campaign(shop, template, [included, also], [excluded])
    with CaptureQueriesContext(connection) as queries:
        ids = set(audience(c).values_list("id", flat=True))
    assert len(queries) == 1  # one SQL query, whatever the segments
    # vip minus the deleted one and the excluded one, plus the second segment; not the exited member,
    # not the customer without email, not another store's customer
    assert ids == {people[0].pk, people[2].pk, people[3].pk, people[7].pk}


def test_preview_counts_reachable_holdout_and_test(shop, template):
    people = f.customers(shop, 40) + f.customers(shop, 10, consent="unsubscribed")
    Suppression.objects.create(store=shop, email=people[0].email, reason="hard_bounce")
    c = f.campaign(shop, template, [f.segment(shop, people)], holdout_percent=10, test_percent=20,
                   variants=[{"label": "A", "subject": "a"}, {"label": "B", "subject": "b"}])
    assert preview(c).as_dict() == {"size": 50, "reachable": 39, "holdout": 5, "test": 9, "rest": 36}


def test_holdout_is_a_recorded_reproducible_share(shop, template):
    people = f.customers(shop, 2000)
    c = f.campaign(shop, template, [f.segment(shop, people)], holdout_percent=10)
    with time_machine.travel(T0, tick=False):
        counts = launch(c.pk)
    held = set(Message.objects.filter(campaign=c, variant="holdout").values_list("customer_id", flat=True))
    assert counts["holdout"] == len(held)
    assert 150 <= len(held) <= 250  # 10% of 2000 = 200; the binomial sd is ~13, so this is over 3.5 sd
    # reproducible: the same hash recomputed independently names exactly the same people
    assert held == {p.pk for p in people if assign.point(f"campaign:{c.pk}:holdout", p.pk) < 1000}
    assert set(Message.objects.filter(customer_id__in=held, campaign=c).values_list("state", "skip_reason")) == {
        ("skipped", "holdout")}
    assert Message.objects.filter(campaign=c, state="queued").count() == 2000 - len(held)


def test_holdout_members_never_receive(shop, template):
    people = f.customers(shop, 60)
    c = f.campaign(shop, template, [f.segment(shop, people)], holdout_percent=30, test_percent=50,
                   variants=[{"label": "A", "subject": "Sale A"}, {"label": "B", "subject": "Sale B"}])
    with time_machine.travel(T0, tick=False):
        launch(c.pk)
    held = {p.email for p in people if assign.in_holdout(f"campaign:{c.pk}", p.pk, 30)}
    assert 5 <= len(held) <= 35
    with time_machine.travel(T0 + timedelta(hours=5), tick=False):  # test over: a winner, the rest is sent
        send_messages()
        send_messages()
    delivered = {m.to[0] for m in mail.outbox}
    assert len(delivered) == len(mail.outbox) == 60 - len(held)
    assert not delivered & held
    assert Message.objects.filter(campaign=c, variant="holdout", state="skipped").count() == len(held)
    assert Campaign.objects.get(pk=c.pk).status == "sent"


def test_a_b_test_share_is_split_evenly_and_the_rest_waits(shop, template):
    people = f.customers(shop, 303)
    story = EmailTemplate.objects.create(store=shop, name="Story", subject="Our story, {{ customer.first_name }}",
                                         html="<p>How we started</p>")
    c = f.campaign(shop, template, [f.segment(shop, people)], holdout_percent=0, test_percent=20, test_hours=6,
                   variants=[{"label": "A", "subject": "Sale A"}, {"label": "B", "subject": "Sale B"},
                             {"label": "C", "from_name": "Ana at Outdoor", "template": story}])
    with time_machine.travel(T0, tick=False):
        counts = launch(c.pk)
    c.refresh_from_db()
    assert counts["test"] == 61  # round(303 * 20%)
    per_variant = dict(Message.objects.filter(campaign=c, ab_test=True).values_list("variant").annotate(
        n=Count("id")))
    assert sorted(per_variant.values()) == [20, 20, 21] and set(per_variant) == {"A", "B", "C"}
    assert Message.objects.filter(campaign=c).count() == 61  # the rest has no rows until a winner
    assert c.status == "testing" and c.test_ends_at == T0 + timedelta(hours=6) and c.audience_size == 303
    with pytest.raises(LaunchError, match="only a draft"):
        launch(c.pk)
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        send_messages()
    sent = {m.to[0]: (m.subject, m.from_email, m.body.splitlines()[0]) for m in mail.outbox}
    assert len(sent) == 61
    for row in Message.objects.filter(campaign=c).select_related("customer"):
        subject, sender, body = sent[row.customer.email]
        first = row.customer.first_name
        assert (row.variant, subject, sender, body) in {
            ("A", "Sale A", "Outdoor Co <hello@outdoor.example>", f"Hi {first}"),
            ("B", "Sale B", "Outdoor Co <hello@outdoor.example>", f"Hi {first}"),
            ("C", f"Our story, {first}", "Ana at Outdoor <hello@outdoor.example>", "How we started")}


def test_campaign_without_variants_sends_everyone_at_send_at(shop, template):
    people = f.customers(shop, 5)
    c = f.campaign(shop, template, [f.segment(shop, people)], send_mode="at", send_at=T0 + timedelta(hours=3))
    with time_machine.travel(T0, tick=False):
        launch(c.pk)
        assert Campaign.objects.get(pk=c.pk).status == "scheduled"
        send_messages()
    assert mail.outbox == []
    with time_machine.travel(T0 + timedelta(hours=3), tick=False):
        send_messages()
    assert len(mail.outbox) == 5 and mail.outbox[0].subject.startswith("Hello C")
    assert Campaign.objects.get(pk=c.pk).status == "sent"


def test_cancel_skips_queued_rows(shop, template):
    people = f.customers(shop, 6)
    c = f.campaign(shop, template, [f.segment(shop, people)], send_mode="at", send_at=T0 + timedelta(hours=3))
    with time_machine.travel(T0, tick=False):
        launch(c.pk)
        assert cancel(c.pk) == 6
    with time_machine.travel(T0 + timedelta(hours=4), tick=False):
        send_messages()
    assert mail.outbox == []
    assert set(Message.objects.filter(campaign=c).values_list("state", "skip_reason")) == {
        ("skipped", "campaign cancelled")}
    assert Campaign.objects.get(pk=c.pk).status == "cancelled"


def _launch_queries(shop, template, n: int, mode: str) -> tuple[int, int]:
    people = f.customers(shop, n)
    c = f.campaign(shop, template, [f.segment(shop, people)], holdout_percent=10, test_percent=20, send_mode=mode,
                   variants=[{"label": "A", "subject": "a"}, {"label": "B", "subject": "b"}])
    with CaptureQueriesContext(connection) as queries:
        launch(c.pk)
    assert Message.objects.filter(campaign=c).exists()
    inserts = sum(1 for q in queries if q["sql"].lstrip().upper().startswith("INSERT"))
    return len(queries) - inserts, inserts


@pytest.mark.parametrize("mode", ["now", "best_hour"])
def test_launch_query_count_does_not_grow_with_audience(shop, template, mode):
    small, _ = _launch_queries(shop, template, 20, mode)
    large, inserts = _launch_queries(shop, template, 400, mode)
    assert small == large  # reads and updates: the same for 20 and 400 customers
    # writes are multi-row INSERTs (SQLite caps a statement at 999 parameters: a few dozen rows each)
    assert inserts <= 400 * 0.3 / 30


def test_launch_refuses_a_campaign_without_segments(shop, template):
    c = Campaign.objects.create(store=shop, name="Nobody", template=template)
    with pytest.raises(LaunchError, match="at least one segment"):
        launch(c.pk)
