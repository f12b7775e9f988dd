"""Cross-tenant links (issue 13 item 5), written as a hostile staff member of store A.

Every foreign key chosen in an admin form (inlines too) or an API body stays in the object's own store,
even for a user who belongs to both stores; another store's id answers exactly like a missing one; filter
sidebars list only the user's stores' objects.
"""

from __future__ import annotations

import json

import pytest

from campaigns.models import EmailTemplate, Flow, FlowStep, Message
from segments.models import Segment, SegmentMembership
from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.models import Customer, StoreMembership, Visitor
from shopconnect.timeline.record import record_events
from tests.conftest import T0

pytestmark = pytest.mark.django_db
MISSING = 987654


@pytest.fixture
def two(make_store):
    a = make_store(name="Alpha Outdoor")
    b = make_store(name="Bravo Secret Shop")
    for store, email in ((a, "ann@a.example"), (b, "bea@b.example")):
        record_events(store, [CanonicalEvent(type="customer.created", occurred_at=T0, dedupe_key=f"c:{email}",
                                             source="api", email=email)])
    return a, b


def template_of(store, name="T"):
    return EmailTemplate.objects.create(store=store, name=name, subject="s", html="<p>x</p>")


def segment_of(store, name):
    return Segment.objects.create(store=store, name=name, definition={"version": 1, "type": "and", "rules": []})


def test_the_visitor_admin_refuses_another_stores_customer(client, two, make_user):
    a, b = two
    visitor = Visitor.objects.create(store=a, client_id="v1", first_seen_at=T0)
    victim = Customer.objects.get(store=b)
    client.force_login(make_user(a, b))  # even a member of both stores
    data = {"store": a.pk, "client_id": "v1", "customer": victim.pk, "device": "",
            "first_seen_at_0": "2026-01-01", "first_seen_at_1": "12:00:00"}
    response = client.post(f"/admin/timeline/visitor/{visitor.pk}/change/", data)
    assert response.status_code == 200
    assert b"Select a valid choice. That choice is not one of the available choices." in response.content
    missing = client.post(f"/admin/timeline/visitor/{visitor.pk}/change/", {**data, "customer": MISSING})
    assert b"Select a valid choice. That choice is not one of the available choices." in missing.content
    visitor.refresh_from_db()
    assert visitor.customer is None


def test_the_flow_canvas_refuses_another_stores_template(client, two, make_user):
    a, b = two
    flow = Flow.objects.create(store=a, name="F", trigger_event_type="order.placed")
    theirs = template_of(b, "Theirs")
    client.force_login(make_user(a, b))
    page = client.get(f"/admin/campaigns/flow/{flow.pk}/change/")
    assert b"Theirs" not in page.content  # not even offered
    data = {"store": a.pk, "name": "F", "trigger": "event", "trigger_event_type": "order.placed",
            "trigger_filters": "[]", "flow_filters": "", "reentry": "once", "reentry_days": "30", "exit_goal": "",
            "holdout_percent": "0", "canvas": json.dumps({"steps": [
                {"key": "n1", "kind": "send_email", "name": "x", "template": theirs.pk, "config": {}}]})}
    response = client.post(f"/admin/campaigns/flow/{flow.pk}/change/", data)
    assert f"no email template with id {theirs.pk}".encode() in response.content  # as if it did not exist
    assert not FlowStep.objects.filter(flow=flow).exists()


def test_a_flow_cannot_trigger_on_another_stores_segment(two, make_user, api_client_for):
    a, b = two
    theirs = segment_of(b, "Theirs")
    api = api_client_for(make_user(a, b))
    body = {"store": a.pk, "name": "F", "trigger": "segment_entered", "steps": []}
    foreign = api.post("/api/v1/flows/", {**body, "trigger_segment_id": theirs.pk}, format="json")
    missing = api.post("/api/v1/flows/", {**body, "trigger_segment_id": MISSING}, format="json")
    assert foreign.status_code == missing.status_code == 400
    assert foreign.json()["trigger_segment_id"] == [f"no segment with id {theirs.pk}"]
    assert missing.json()["trigger_segment_id"] == [f"no segment with id {MISSING}"]
    assert not Flow.objects.exists()


def test_api_foreign_keys_of_another_store_answer_like_missing_ones(two, make_user, api_client_for):
    """No existence oracle: another store's template or segment id says exactly what a missing id says."""
    a, b = two
    mine, theirs = template_of(a), template_of(b)
    their_segment = segment_of(b, "Theirs")
    api = api_client_for(make_user(a))

    def errors(**fields):
        body = {"store": a.pk, "name": "C", "template": mine.pk, **fields}
        response = api.post("/api/v1/campaigns/", body, format="json")
        assert response.status_code == 400
        return response.json()

    assert errors(template=theirs.pk)["template"] == [f'Invalid pk "{theirs.pk}" - object does not exist.']
    assert errors(template=MISSING)["template"] == [f'Invalid pk "{MISSING}" - object does not exist.']
    assert errors(include_segments=[their_segment.pk])["include_segments"] == [
        f'Invalid pk "{their_segment.pk}" - object does not exist.']
    assert errors(include_segments=[MISSING])["include_segments"] == [
        f'Invalid pk "{MISSING}" - object does not exist.']
    step = {"position": 0, "kind": "send_email", "template": theirs.pk, "config": {}}
    flow = api.post("/api/v1/flows/", {"store": a.pk, "name": "F", "trigger_event_type": "order.placed",
                                       "steps": [step]}, format="json")
    assert flow.status_code == 400 and f'Invalid pk \\"{theirs.pk}\\" - object does not exist.' in flow.content.decode()


def test_api_same_store_only_even_for_a_member_of_both(two, make_user, api_client_for):
    a, b = two
    theirs = template_of(b)
    api = api_client_for(make_user(a, b))
    response = api.post("/api/v1/campaigns/", {"store": a.pk, "name": "C", "template": theirs.pk,
                                               "include_segments": [segment_of(a, "Mine").pk]}, format="json")
    assert response.status_code == 400
    assert response.json()["template"] == [f'Invalid pk "{theirs.pk}" - object does not exist.']


def test_changelist_filter_sidebars_list_only_the_users_stores(client, two, make_user):
    a, b = two
    theirs_flow = Flow.objects.create(store=b, name="Bravo winback flow", trigger_event_type="order.placed")
    Flow.objects.create(store=a, name="Alpha welcome flow", trigger_event_type="order.placed")
    theirs_segment = segment_of(b, "Bravo VIP segment")
    SegmentMembership.objects.create(segment=theirs_segment, customer=Customer.objects.get(store=b), entered_at=T0)
    segment_of(a, "Alpha VIP segment")
    Message.objects.create(store=b, customer=Customer.objects.get(store=b), flow=theirs_flow,
                           idempotency_key="k1", next_attempt_at=T0)
    template_of(b, "Bravo template")
    client.force_login(make_user(a))
    pages = ["/admin/timeline/event/", "/admin/timeline/customer/", "/admin/campaigns/message/",
             "/admin/campaigns/enrollment/", "/admin/segments/segmentmembership/", "/admin/campaigns/emailtemplate/",
             "/admin/segments/segment/", "/admin/campaigns/flow/", "/admin/timeline/product/"]
    for url in pages:
        page = client.get(url)
        assert page.status_code == 200, url
        for secret in (b"Bravo Secret Shop", b"Bravo winback flow", b"Bravo VIP segment", b"Bravo template"):
            assert secret not in page.content, (url, secret)
    assert b"Alpha welcome flow" in client.get("/admin/campaigns/message/").content  # the user's own flow is there


def test_members_of_another_store_are_not_listed_or_reachable(client, two, make_user):
    a, b = two
    client.force_login(make_user(a, role="owner"))
    other = Customer.objects.get(store=b)
    assert client.get(f"/admin/timeline/customer/{other.pk}/change/").status_code == 404
    assert client.get(f"/admin/timeline/store/{b.pk}/change/").status_code == 404
    assert StoreMembership.objects.filter(store=b).count() == 0
