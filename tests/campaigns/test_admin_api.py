"""Admin (preview, test email, flow editor, enrollment log) and the REST API, scoped per store."""

from __future__ import annotations

import json

import time_machine
from django.core import mail

from campaigns.flows.prebuilt import PREBUILT, install_prebuilt_flows
from campaigns.models import EmailProvider, EmailTemplate, Enrollment, Flow, Message
from campaigns.outbox import enqueue
from campaigns.sender import send_due_messages
from shopconnect.timeline.models import Customer

from .conftest import T0, checkout_payload


def test_prebuilt_flows_are_created_disabled_once(shop):
    flows = install_prebuilt_flows(shop)
    assert len(flows) == len(PREBUILT) and not any(f.enabled for f in flows)
    install_prebuilt_flows(shop)
    assert Flow.objects.filter(store=shop).count() == len(PREBUILT)
    cart = Flow.objects.get(store=shop, prebuilt_key="abandoned_cart")
    assert [s.kind for s in cart.steps.order_by("position")].count("send_email") == 4
    for step in cart.steps.all():
        step.full_clean()


def test_template_preview_renders_for_a_customer_and_shows_errors(shop, subscribe, make_user, client):
    customer = subscribe(shop, "ana@example.com", first_name="Ana")
    template = EmailTemplate.objects.create(store=shop, name="T", subject="Hi {{ customer.first_name }}",
                                            html="<p>Hello {{ customer.first_name }}</p>")
    client.force_login(make_user(shop))
    page = client.get(f"/admin/campaigns/emailtemplate/{template.pk}/preview/?customer={customer.pk}")
    assert page.status_code == 302 and page["Location"].endswith(f"/change/?customer={customer.pk}")
    editor = client.get(page["Location"])
    assert b'id="editor-customer" value="%d"' % customer.pk in editor.content and b"ana@example.com" in editor.content
    render = "/admin/campaigns/emailtemplate/editor/render/"
    source = {"store": shop.pk, "customer": customer.pk, "subject": template.subject, "html": template.html}
    answer = client.post(render, source).json()
    assert answer["subject"] == "Hi Ana" and "Hello Ana" in answer["html"]
    assert {"name": "customer.first_name", "value": "Ana"}.items() <= next(
        v for v in answer["variables"] if v["name"] == "customer.first_name").items()
    answer = client.post(render, {**source, "html": "<p>{{ customer.first_name|nosuchfilter }}</p>"}).json()
    assert "nosuchfilter" in answer["error"]
    response = client.post(f"/admin/campaigns/emailtemplate/{template.pk}/change/",
                           {"store": shop.pk, "name": "T", "subject": "x", "html": "{% if %}", "text": "",
                            "discount_code": ""})
    assert response.status_code == 200 and b"errornote" in response.content  # not saved


def test_editor_finds_any_customer_of_the_store_and_only_of_the_store(shop, make_store, subscribe, make_user,
                                                                       client):
    oldest = subscribe(shop, "rosa.schmidt.1@example.com", first_name="Rosa", last_name="Schmidt")
    Customer.objects.bulk_create([Customer(store=shop, email=f"filler{n}@example.com", first_name="Filler",
                                           created_at=T0) for n in range(210)])  # more than the old picker's 200
    other = make_store()
    foreign = subscribe(other, "rosa.schmidt.2@example.com", first_name="Rosa", last_name="Schmidt")
    client.force_login(make_user(shop))
    found = client.get("/admin/campaigns/emailtemplate/editor/customers/",
                       {"store": shop.pk, "q": "rosa schmidt"}).json()["results"]
    assert found == [{"id": oldest.pk, "label": "Rosa Schmidt <rosa.schmidt.1@example.com>"}]
    assert client.get("/admin/campaigns/emailtemplate/editor/customers/",
                      {"store": other.pk, "q": "rosa"}).status_code == 404
    answer = client.post("/admin/campaigns/emailtemplate/editor/render/",
                         {"store": shop.pk, "customer": foreign.pk, "subject": "x", "html": "y"})
    assert answer.status_code == 404


def test_admin_is_scoped_to_the_users_stores(shop, make_store, make_user, client):
    other = make_store()
    foreign = install_prebuilt_flows(other, ["welcome"])[0]
    client.force_login(make_user(shop))
    assert client.get(f"/admin/campaigns/flow/{foreign.pk}/change/").status_code == 404
    assert foreign.name.encode() not in client.get("/admin/campaigns/flow/").content


def test_send_test_email_action(shop, make_user, client):
    user = make_user(shop, role="owner")  # the provider is the owner's
    user.email = "owner@example.com"
    user.save()
    client.force_login(user)
    client.post("/admin/campaigns/emailprovider/", {"action": "send_test",
                                                    "_selected_action": [shop.email_provider.pk]})
    assert [m.to for m in mail.outbox] == [["owner@example.com"]]


def test_provider_credentials_are_encrypted_at_rest(shop):
    from django.db import connection

    shop.email_provider.kind = EmailProvider.Kind.POSTMARK
    shop.email_provider.credentials = '{"server_token": "pm-secret-token"}'
    shop.email_provider.save()
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM campaigns_emailprovider WHERE id = %s", [shop.email_provider.pk])
        stored = cursor.fetchone()[0]
    assert "pm-secret-token" not in stored and stored.startswith("fernet:")


def test_flow_editor_shows_per_step_counts_and_enrollment_log(shop, post_webhook, subscribe, make_user, client):
    (flow,) = install_prebuilt_flows(shop, ["abandoned_cart"], enable=("abandoned_cart",))
    subscribe(shop, "ana@example.com")
    with time_machine.travel(T0, tick=False):
        post_webhook(shop, "checkouts/create", checkout_payload("ana@example.com"))
    client.force_login(make_user(shop))
    page = client.get(f"/admin/campaigns/flow/{flow.pk}/change/")
    assert page.status_code == 200
    cards = json.loads(page.content.decode().split('id="flow-canvas-options" type="application/json">')[1]
                       .split("</script>")[0])["numbers"]
    first_wait = flow.steps.get(position=0)
    assert cards[str(first_wait.pk)] == {"waiting": 1, "sent": 0}  # the card of the first wait says who is there
    enrollment = Enrollment.objects.get()
    page = client.get(f"/admin/campaigns/enrollment/{enrollment.pk}/change/")
    assert b"trigger matched" in page.content and b"until 2026-03-02 16:00 UTC" in page.content


def test_api_flows_templates_messages(shop, make_store, subscribe, make_user, api_client_for):
    api = api_client_for(make_user(shop))
    template = api.post("/api/v1/templates/", {"store": shop.pk, "name": "T", "subject": "Hi",
                                               "html": "<p>hi</p>"}, format="json")
    assert template.status_code == 201
    bad = api.post("/api/v1/templates/", {"store": shop.pk, "name": "T", "subject": "Hi", "html": "{% if %}"},
                   format="json")
    assert bad.status_code == 400 and "html" in bad.json()
    flow = api.post("/api/v1/flows/", {
        "store": shop.pk, "name": "F", "trigger": "event", "trigger_event_type": "custom.joined",
        "steps": [{"position": 0, "kind": "delay", "config": {"hours": 1}},
                  {"position": 1, "kind": "send_email", "template": template.json()["id"]}]}, format="json")
    assert flow.status_code == 201, flow.json()
    steps = api.get(f"/api/v1/flows/{flow.json()['id']}/").json()["steps"]
    assert [s["kind"] for s in steps] == ["delay", "send_email"]
    bad_step = api.post("/api/v1/flows/", {"store": shop.pk, "name": "F", "trigger_event_type": "custom.joined",
                                           "steps": [{"position": 0, "kind": "delay", "config": {}}]}, format="json")
    assert bad_step.status_code == 400
    other = make_store()
    assert api.post("/api/v1/templates/", {"store": other.pk, "name": "T", "subject": "x", "html": "x"},
                    format="json").status_code == 400
    foreign = EmailTemplate.objects.create(store=other, name="x", subject="x", html="x")
    assert api.get(f"/api/v1/templates/{foreign.pk}/").status_code == 404

    customer = subscribe(shop, "ana@example.com")
    enqueue([Message(store=shop, customer=customer, template_id=template.json()["id"], idempotency_key="a"),
             Message(store=shop, customer=customer, template_id=template.json()["id"], idempotency_key="b")])
    send_due_messages()
    rows = api.get(f"/api/v1/messages/?customer={customer.pk}").json()["results"]
    assert sorted(r["state"] for r in rows) == ["sent", "skipped"]
    assert any(r["skip_reason"].startswith("smart sending") for r in rows)


def test_demo_flows_run_end_to_end_with_the_demo_store(db):
    from campaigns.demo import install_demo_flows
    from campaigns.flows.engine import advance_due_enrollments
    from integrations.demo import load_demo
    from shopconnect.timeline.models import Store

    load_demo(customers=60)
    store = Store.objects.get(domain="demo-outdoor.myshopify.com")
    first = install_demo_flows(store)
    assert install_demo_flows(store)["flows"] == first["flows"] == len(PREBUILT)
    assert set(Flow.objects.filter(store=store, enabled=True).values_list("prebuilt_key", flat=True)) == {
        "abandoned_cart", "post_purchase"}
    # The demo's history is the past: nothing enters, nothing is queued (issue 20).
    assert first["entered"] == 0
    advance_due_enrollments()
    assert not Enrollment.objects.filter(flow__store=store, status="active").exists()
    assert not Message.objects.filter(store=store, flow__isnull=False).exists()
