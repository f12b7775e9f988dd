"""Roles mean something (issue 13 item 6), per role, in the API and in the admin.

viewer reads; marketer also edits, launches and sends; owner also manages members, the email provider and
the store's settings; operators (superusers) connect stores. Each test is a member trying what its role
does not allow, and what it does.
"""

from __future__ import annotations

import pytest
import time_machine
from django.core import mail

from campaigns.flows.prebuilt import install_prebuilt_flows
from campaigns.models import Campaign, EmailProvider, EmailTemplate, Flow, Message
from shopconnect import tenancy
from shopconnect.timeline.models import StoreMembership

from . import campaign_factory as f
from .conftest import T0


@pytest.fixture
def campaign(shop, template):
    return f.campaign(shop, template, [f.segment(shop, f.customers(shop, 5))])


def template_body(shop):
    return {"store": shop.pk, "name": "New", "subject": "Hi", "html": "<p>hi</p>"}


# --- API ---------------------------------------------------------------------------------------------
def test_a_viewer_reads_but_cannot_create_launch_or_delete_through_the_api(
    shop, campaign, template, make_user, api_client_for
):
    flow = install_prebuilt_flows(shop, ["welcome"])[0]
    templates = EmailTemplate.objects.filter(store=shop).count()
    api = api_client_for(make_user(shop, role="viewer"))
    assert api.get("/api/v1/templates/").status_code == 200
    assert api.get(f"/api/v1/campaigns/{campaign.pk}/").status_code == 200
    assert api.post("/api/v1/templates/", template_body(shop), format="json").status_code == 403
    assert api.patch(f"/api/v1/templates/{template.pk}/", {"name": "x"}, format="json").status_code == 403
    with time_machine.travel(T0, tick=False):
        assert api.post(f"/api/v1/campaigns/{campaign.pk}/launch/").status_code == 403
    assert api.delete(f"/api/v1/flows/{flow.pk}/").status_code == 403
    assert api.post("/api/v1/events/", {"store": shop.pk, "customer": {"email": "x@example.com"},
                                        "type": "custom.x", "occurred_at": "2026-01-01T00:00:00Z"},
                    format="json").status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == "draft" and not Message.objects.filter(campaign=campaign).exists()
    assert Flow.objects.filter(pk=flow.pk).exists() and EmailTemplate.objects.filter(store=shop).count() == templates
    preview = api.post("/api/v1/segments/preview/", {"store": shop.pk, "definition": f.EVERYONE}, format="json")
    assert preview.status_code == 200, preview.json()  # a preview changes nothing: viewers may


def test_a_marketer_creates_launches_and_deletes_through_the_api(shop, campaign, make_user, api_client_for):
    flow = install_prebuilt_flows(shop, ["welcome"])[0]
    api = api_client_for(make_user(shop, role="marketer"))
    assert api.post("/api/v1/templates/", template_body(shop), format="json").status_code == 201
    with time_machine.travel(T0, tick=False):
        assert api.post(f"/api/v1/campaigns/{campaign.pk}/launch/").status_code == 202
    assert api.delete(f"/api/v1/flows/{flow.pk}/").status_code == 204
    campaign.refresh_from_db()
    assert campaign.status != "draft"


def test_a_role_in_one_store_gives_nothing_in_another(shop, make_store, make_user, api_client_for):
    other = make_store()
    user = make_user(shop, role="marketer")
    StoreMembership.objects.create(user=user, store=other, role="viewer")
    api = api_client_for(user)
    assert api.post("/api/v1/templates/", template_body(other), format="json").status_code == 403
    assert api.post("/api/v1/templates/", template_body(shop), format="json").status_code == 201


# --- admin -------------------------------------------------------------------------------------------
def test_a_viewer_sees_admin_pages_read_only_and_cannot_add_change_delete_or_launch(
    shop, campaign, template, make_user, client
):
    flow = install_prebuilt_flows(shop, ["welcome"])[0]
    client.force_login(make_user(shop, role="viewer"))
    page = client.get(f"/admin/campaigns/emailtemplate/{template.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content  # read-only
    assert client.get("/admin/campaigns/emailtemplate/add/").status_code == 403
    changed = client.post(f"/admin/campaigns/emailtemplate/{template.pk}/change/",
                          {"store": shop.pk, "name": "Hacked", "subject": "x", "html": "x", "text": "",
                           "discount_code": ""})
    assert changed.status_code == 403
    assert client.post(f"/admin/campaigns/flow/{flow.pk}/delete/", {"post": "yes"}).status_code == 403
    listing = client.get("/admin/campaigns/campaign/")
    assert b"launch_campaigns" not in listing.content  # no actions offered
    with time_machine.travel(T0, tick=False):
        client.post("/admin/campaigns/campaign/", {"action": "launch_campaigns", "_selected_action": [campaign.pk]})
        assert client.post(f"/admin/campaigns/campaign/{campaign.pk}/launch/").status_code in (403, 404)
    campaign.refresh_from_db()
    template.refresh_from_db()
    assert campaign.status == "draft" and template.name == "Plain" and Flow.objects.filter(pk=flow.pk).exists()


def test_a_marketer_edits_and_launches_in_the_admin_but_cannot_change_the_provider_or_members(
    shop, campaign, template, make_user, client
):
    marketer = make_user(shop, role="marketer")
    marketer.email = "m@example.com"
    marketer.save()
    client.force_login(marketer)
    assert client.get("/admin/campaigns/emailtemplate/add/").status_code == 200
    with time_machine.travel(T0, tick=False):
        review = client.post("/admin/campaigns/campaign/", {"action": "launch_campaigns",
                                                           "_selected_action": [campaign.pk]}, follow=True)
        assert b"Review and launch" in review.content
        client.post(f"/admin/campaigns/campaign/{campaign.pk}/launch/")
    campaign.refresh_from_db()
    assert campaign.status != "draft"
    provider = shop.email_provider
    page = client.get(f"/admin/campaigns/emailprovider/{provider.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content
    hacked = client.post(f"/admin/campaigns/emailprovider/{provider.pk}/change/",
                         {"store": shop.pk, "kind": "smtp", "from_email": "x@evil.example", "credentials": ""})
    assert hacked.status_code == 403
    client.post("/admin/campaigns/emailprovider/", {"action": "send_test", "_selected_action": [provider.pk]})
    assert mail.outbox == []
    members = client.post(f"/admin/timeline/store/{shop.pk}/change/", {
        "name": shop.name, "currency": "USD", "timezone": "UTC", "status": "active",
        "memberships-TOTAL_FORMS": "1", "memberships-INITIAL_FORMS": "0", "memberships-0-user": marketer.pk,
        "memberships-0-role": "owner"})
    assert members.status_code == 403
    provider.refresh_from_db()
    assert provider.from_email == "hello@outdoor.example"
    assert StoreMembership.objects.get(user=marketer).role == "marketer"


def test_an_owner_manages_the_provider_and_members_but_not_where_the_store_lives(shop, make_user, client):
    owner = make_user(shop, role="owner")
    newcomer = make_user()
    client.force_login(owner)
    provider = shop.email_provider
    response = client.post(f"/admin/campaigns/emailprovider/{provider.pk}/change/", {
        "store": shop.pk, "kind": "locmem", "from_email": "news@outdoor.example", "from_name": "Outdoor",
        "reply_to": "", "credentials": "", "rate_limit_per_minute": "0", "smart_sending_hours": "16",
        "click_window_days": "5", "open_window_days": "5", "exclude_machine_opens": "on",
        "in_doubt": "non_marketing"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert EmailProvider.objects.get(pk=provider.pk).from_email == "news@outdoor.example"
    response = client.post(f"/admin/timeline/store/{shop.pk}/change/", {
        "name": "Renamed", "currency": "EUR", "timezone": "UTC", "status": "active",
        "domain": "evil.example", "url": "https://evil.example",  # read-only for owners: ignored
        "memberships-TOTAL_FORMS": "2", "memberships-INITIAL_FORMS": "1",
        "memberships-0-id": StoreMembership.objects.get(user=owner).pk, "memberships-0-store": shop.pk,
        "memberships-0-user": owner.pk, "memberships-0-role": "owner",
        "memberships-1-store": shop.pk, "memberships-1-user": newcomer.pk, "memberships-1-role": "viewer"})
    assert response.status_code == 302, response.content[:3000]
    shop.refresh_from_db()
    assert (shop.name, shop.currency, shop.url) == ("Renamed", "EUR", "https://outdoor.example")
    assert StoreMembership.objects.get(user=newcomer).role == "viewer"
    assert client.get("/admin/timeline/store/add/").status_code == 403
    assert client.post(f"/admin/timeline/store/{shop.pk}/delete/", {"post": "yes"}).status_code == 403


def test_a_staff_member_cannot_squat_a_shop_by_adding_a_store(make_user, client):
    """Store squatting: a staff member with every model permission adds a store for a shop not yet
    connected (whose signed webhooks would then land in their admin)."""
    from shopconnect.timeline.models import Store

    client.force_login(make_user())
    assert client.get("/admin/timeline/store/add/").status_code == 403
    response = client.post("/admin/timeline/store/add/", {
        "platform": "shopify", "domain": "victim-shop.myshopify.com", "name": "Mine", "currency": "USD",
        "timezone": "UTC", "status": "active", "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"})
    assert response.status_code == 403 and not Store.objects.exists()


def test_an_operator_adds_a_store(admin_client):
    from shopconnect.timeline.models import Store

    response = admin_client.post("/admin/timeline/store/add/", {
        "platform": "shopify", "domain": "new-shop.myshopify.com", "name": "New", "currency": "USD",
        "timezone": "UTC", "status": "active", "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"})
    assert response.status_code == 302
    assert Store.objects.get().url == "https://new-shop.myshopify.com"


def test_require_role_for_new_actions(shop, make_user):
    viewer, owner = make_user(shop, role="viewer"), make_user(shop, role="owner")
    with pytest.raises(tenancy.PermissionDenied):
        tenancy.require_role(viewer, shop, "marketer")
    tenancy.require_role(owner, shop, "marketer")
    assert list(tenancy.stores_with_role(viewer, "marketer")) == []
    assert Campaign.objects.count() == 0
