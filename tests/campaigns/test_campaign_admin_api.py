"""Campaign admin (variants, store-scoped segments, preview, launch, cancel, A/B table) and the REST API."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.core import mail

from campaigns.models import Campaign, EmailTemplate, Message

from . import campaign_factory as f
from .conftest import T0

ADD = "/admin/campaigns/campaign/add/"


def _form(store, template, segments, variants=(), **extra):
    data = {"store": store.pk, "name": "Spring sale", "template": template.pk,
            "include_segments": [s.pk for s in segments], "send_mode": "now", "holdout_percent": "10",
            "test_percent": "20", "winning_metric": "open_rate", "test_hours": "4", "win_probability": "0.9",
            "min_sample": "100", "variants-TOTAL_FORMS": str(len(variants)), "variants-INITIAL_FORMS": "0",
            "variants-MIN_NUM_FORMS": "0", "variants-MAX_NUM_FORMS": "1000", **extra}
    for i, v in enumerate(variants):
        for key, value in v.items():
            data[f"variants-{i}-{key}"] = value
    return data


def test_admin_validates_variants_and_store_of_segments(shop, template, make_store, make_user, client):
    people = f.customers(shop, 3)
    mine = f.segment(shop, people, name="Mine")
    other = make_store()
    foreign = f.segment(other, f.customers(other, 1), name="Theirs")
    client.force_login(make_user(shop))
    page = client.get(ADD)
    assert b"Mine" in page.content and b"Theirs" not in page.content  # segments of the user's stores only
    dup = client.post(ADD, _form(shop, template, [mine], [{"label": "A"}, {"label": "A"}]))
    assert b"Please correct the duplicate data for label" in dup.content
    reserved = client.post(ADD, _form(shop, template, [mine], [{"label": "holdout"}, {"label": "B"}]))
    assert b"reserved" in reserved.content
    eight = client.post(ADD, _form(shop, template, [mine], [{"label": c} for c in "ABCDEFGH"]))
    assert b"2 to 7 variants" in eight.content
    no_template = client.post(ADD, {**_form(shop, template, [mine]), "template": ""})
    assert b"This field is required" in no_template.content
    assert not Campaign.objects.exists()
    ok = client.post(ADD, _form(shop, template, [mine], [{"label": "A", "subject": "Hi A"},
                                                         {"label": "B", "subject": "Hi B"}]))
    assert ok.status_code == 302
    campaign = Campaign.objects.get()
    assert sorted(campaign.variants.values_list("label", "subject")) == [("A", "Hi A"), ("B", "Hi B")]
    # a superuser could see the foreign segment, but it still cannot target another store's customers
    admin = make_user(superuser=True)
    client.force_login(admin)
    mixed = client.post(ADD, {**_form(shop, template, [mine, foreign]), "name": "Mixed"})
    assert f"Select a valid choice. {foreign.pk} is not one of the available choices".encode() in mixed.content
    assert Campaign.objects.count() == 1


def test_admin_preview_launch_ab_table_and_cancel(shop, template, make_user, client):
    people = f.customers(shop, 40)
    c = f.campaign(shop, template, [f.segment(shop, people)], holdout_percent=10, test_percent=50,
                   variants=[{"label": "A", "subject": "Sale A"}, {"label": "B", "subject": "Sale B"}])
    client.force_login(make_user(shop))
    page = client.get(f"/admin/campaigns/campaign/{c.pk}/change/").content.decode()
    assert "40 customers in the segments after exclusions; 40 reachable now" in page and "holdout about 4" in page
    review = client.post("/admin/campaigns/campaign/", {"action": "launch_campaigns", "_selected_action": [c.pk]})
    assert review["Location"] == f"/admin/campaigns/campaign/{c.pk}/launch/"
    assert c.messages.count() == 0 and "Confirm and launch" in client.get(review["Location"]).content.decode()
    with time_machine.travel(T0, tick=False):
        client.post(review["Location"])
    c.refresh_from_db()
    held = Message.objects.filter(campaign=c, variant="holdout").count()
    assert c.status == "testing" and c.audience_size == 40
    assert Message.objects.filter(campaign=c, ab_test=True).count() == round((40 - held) / 2)
    a_rows = list(Message.objects.filter(campaign=c, variant="A"))
    f.mark_sent(Message.objects.filter(campaign=c, ab_test=True))
    f.engage(shop, a_rows[:5])
    page = client.get(f"/admin/campaigns/campaign/{c.pk}/change/").content.decode()
    assert f"<td>A</td><td>{len(a_rows)}</td><td>5 ({5 / len(a_rows):.1%})</td>" in page
    assert "Win probability" in page
    Message.objects.filter(campaign=c, ab_test=True).update(state="queued")
    assert Campaign.objects.get(pk=c.pk).status == "testing"  # asking is not doing: a confirmation page first
    assert "will never be sent" in client.get(f"/admin/campaigns/campaign/{c.pk}/cancel/").content.decode()
    client.post(f"/admin/campaigns/campaign/{c.pk}/cancel/")
    assert Campaign.objects.get(pk=c.pk).status == "cancelled"
    assert not Message.objects.filter(campaign=c, state="queued").exists()


def test_api_campaign_crud_launch_and_scoping(shop, template, make_store, make_user, api_client_for):
    people = f.customers(shop, 10)
    seg = f.segment(shop, people)
    other = make_store()
    foreign_seg = f.segment(other, f.customers(other, 1))
    foreign_template = EmailTemplate.objects.create(store=other, name="x", subject="x", html="x")
    api = api_client_for(make_user(shop))
    body = {"store": shop.pk, "name": "API sale", "template": template.pk, "include_segments": [seg.pk],
            "holdout_percent": "20", "test_percent": "50", "variants": [{"label": "A", "subject": "A!"},
                                                                         {"label": "B", "subject": "B!"}]}
    bad = api.post("/api/v1/campaigns/", {**body, "include_segments": [foreign_seg.pk]}, format="json")
    assert bad.status_code == 400 and "include_segments" in bad.json()
    bad = api.post("/api/v1/campaigns/", {**body, "template": foreign_template.pk}, format="json")
    assert bad.status_code == 400 and "template" in bad.json()
    bad = api.post("/api/v1/campaigns/", {**body, "variants": [{"label": "holdout"}]}, format="json")
    assert bad.status_code == 400 and "reserved" in str(bad.json())
    created = api.post("/api/v1/campaigns/", body, format="json")
    assert created.status_code == 201, created.json()
    cid = created.json()["id"]
    assert [v["label"] for v in created.json()["variants"]] == ["A", "B"]
    with time_machine.travel(T0, tick=False):
        assert api.post(f"/api/v1/campaigns/{cid}/launch/").status_code == 202
        assert api.post(f"/api/v1/campaigns/{cid}/launch/").status_code == 400  # not a draft any more
    detail = api.get(f"/api/v1/campaigns/{cid}/").json()
    assert detail["status"] == "testing" and detail["audience_size"] == 10
    assert api.patch(f"/api/v1/campaigns/{cid}/", {"name": "x"}, format="json").status_code == 400
    rows = api.get(f"/api/v1/messages/?campaign={cid}").json()["results"]
    assert {r["variant"] for r in rows} <= {"A", "B", "holdout"} and len(rows) == Message.objects.filter(
        campaign_id=cid).count()
    outsider = api_client_for(make_user(other))
    assert outsider.get(f"/api/v1/campaigns/{cid}/").status_code == 404
    assert outsider.post(f"/api/v1/campaigns/{cid}/launch/").status_code == 404
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        assert api.post(f"/api/v1/campaigns/{cid}/cancel/").json()["skipped"] >= 0
    assert mail.outbox == []
