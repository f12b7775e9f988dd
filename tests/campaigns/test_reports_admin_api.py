"""Report pages, CSV exports and the ``reports/`` API: the fixture's numbers, store scoping, query counts."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import Flow, FlowStep
from segments.models import Segment, SegmentSnapshot

from .conftest import T0
from .report_fixture import RANGE, STATIC, D, build
from .reporting import campaign, customer, email, message, order

Q = f"since={RANGE[0]}&until={RANGE[1]}"


@pytest.fixture
def fx(shop):
    return build(shop)


@pytest.fixture
def marketer(shop, make_user, client):
    client.force_login(make_user(shop))
    return client


def rows(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_admin_index_links_the_dashboard(marketer):
    page = marketer.get("/admin/")
    assert b'href="/admin/reports/"' in page.content


def test_dashboard_page_shows_the_numbers_and_alerts(fx, shop, marketer):
    with time_machine.travel(T0 + 3 * D, tick=False):
        page = marketer.get(f"/admin/reports/?store={shop.pk}&{Q}")
    html = page.content.decode()
    assert page.status_code == 200
    assert "USD 230.00" in html  # attributed revenue, net of refunds
    assert "Complaint rate 14.29%" in html and "Bounce rate 12.50%" in html
    assert f'href="/admin/reports/campaigns/{fx.spring.pk}/"' in html and "<svg" in html
    assert "cdn" not in html.lower() and "<script src=\"http" not in html


def test_dashboard_csv_exports(fx, shop, marketer):
    base = f"/admin/reports/?store={shop.pk}&{Q}"
    revenue = rows(marketer.get(base + "&export=revenue"))
    assert revenue[0] == ["Day", "Orders", "Revenue"]
    assert revenue[1:4] == [["2026-03-01", "0", "0.00"], ["2026-03-02", "1", "70.00"], ["2026-03-03", "1", "80.00"]]
    campaigns = rows(marketer.get(base + "&export=campaigns"))
    assert campaigns == [["Campaign", "Orders", "Revenue"], ["Spring", "3", "160.00"]]
    assert marketer.get(base + "&export=nosuchtable").status_code == 404


def test_campaign_page_and_csv(fx, marketer):
    url = f"/admin/reports/campaigns/{fx.spring.pk}/"
    page = marketer.get(url)
    html = page.content.decode()
    assert page.status_code == 200 and "A/B test (Click rate)" in html and "Holdout lift" in html
    assert "80.00%" in html  # A's win probability
    variants = rows(marketer.get(url + "?export=variants"))
    header = variants[0]
    assert header[:4] == ["Variant", "Sent", "Delivered", "Bounced"]
    by_variant = {r[0]: dict(zip(header, r, strict=True)) for r in variants[1:]}
    assert (by_variant["B"]["Sent"], by_variant["B"]["Bounce rate"], by_variant["B"]["Revenue"]) == (
        "4", "0.250000", "80.00")
    ab = rows(marketer.get(url + "?export=ab"))
    assert [r[0] for r in ab[1:]] == ["A", "B"] and ab[1][-2] == "0.800000"
    lift = rows(marketer.get(url + "?export=lift"))
    assert lift[0][1:3] == ["Recipients (6)", "Holdout (2)"] and lift[1][:3] == ["Conversion rate", "33.33%", "50.00%"]


def test_flow_page_is_linked_from_the_flow_and_shows_steps(fx, marketer):
    change = marketer.get(f"/admin/campaigns/flow/{fx.welcome.pk}/change/")
    assert f'href="/admin/reports/flows/{fx.welcome.pk}/"'.encode() in change.content
    steps = rows(marketer.get(f"/admin/reports/flows/{fx.welcome.pk}/?export=steps"))
    assert steps[1][0] == "Hello" and steps[1][1] == "2"


def test_segment_page(fx, marketer):
    page = marketer.get(f"/admin/reports/segments/{fx.segment.pk}/")
    assert page.status_code == 200 and "75.00%" in page.content.decode()  # reachable by email
    split = rows(marketer.get(f"/admin/reports/segments/{fx.segment.pk}/?export=split"))
    assert [r[:2] for r in split[1:]] == [["Campaigns that targeted this segment", "3"],
                                         ["Everything else the members got", "1"]]


def test_bad_dates_are_explained(fx, shop, marketer):
    page = marketer.get(f"/admin/reports/?store={shop.pk}&since=2026-13-01")
    assert page.status_code == 200 and "since: &#x27;2026-13-01&#x27; is not a date" in page.content.decode()


def test_another_stores_reports_answer_404(fx, shop, make_store, make_user, client, api_client_for):
    other = make_store()
    client.force_login(make_user(other))
    for url in (f"/admin/reports/campaigns/{fx.spring.pk}/", f"/admin/reports/flows/{fx.welcome.pk}/",
                f"/admin/reports/segments/{fx.segment.pk}/", f"/admin/reports/?store={shop.pk}"):
        assert client.get(url).status_code == 404, url
    api = api_client_for(make_user(other))
    for url in (f"campaigns/{fx.spring.pk}/", f"flows/{fx.welcome.pk}/", f"segments/{fx.segment.pk}/",
                f"dashboard/?store={shop.pk}"):
        assert api.get(f"/api/v1/reports/{url}").status_code == 404, url


def test_api_reports(fx, shop, make_user, api_client_for):
    api = api_client_for(make_user(shop))
    with time_machine.travel(T0 + 3 * D, tick=False):
        board = api.get(f"/api/v1/reports/dashboard/?store={shop.pk}&{Q}").json()
    assert board["attributed_revenue"] == "230.00" and board["list_health"]["engaged"] == 4
    assert board["campaigns"] == [{"id": fx.spring.pk, "name": "Spring", "orders": 3, "revenue": "160.00"}]
    assert board["revenue_over_time"][1] == {"day": "2026-03-02", "orders": 1, "revenue": "70.00"}
    report = api.get(f"/api/v1/reports/campaigns/{fx.spring.pk}/").json()
    assert report["totals"]["sent"] == 6 and report["totals"]["revenue"] == "160.00"
    assert report["holdout_lift"]["recipients_converted"] == 2
    assert [r["variant"] for r in report["ab_test"]] == ["A", "B"]
    flow = api.get(f"/api/v1/reports/flows/{fx.welcome.pk}/?{Q}").json()
    assert flow["totals"]["conversions"] == 1 and len(flow["days"]) == 7
    seg = api.get(f"/api/v1/reports/segments/{fx.segment.pk}/").json()
    assert seg["segment"]["average_lifetime_value"] == "30.00" and seg["targeted"]["sent"] == 3
    bad = api.get(f"/api/v1/reports/dashboard/?store={shop.pk}&since=2026-03-09&until=2026-03-01")
    assert bad.status_code == 400 and "until" in bad.json()
    assert api.get("/api/v1/reports/dashboard/").status_code == 400
    schema = api.get("/api/schema/").content.decode()
    assert "/api/v1/reports/campaigns/{campaign_id}/" in schema and "/api/v1/reports/dashboard/" in schema


def test_dashboard_query_count_does_not_grow_with_data(fx, shop, marketer):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert marketer.get(f"/admin/reports/?store={shop.pk}&{Q}").status_code == 200
        return len(queries)

    before = count()
    for k in range(3):  # more campaigns, flows, segments, messages, engagement and orders
        spring = campaign(shop, f"More {k}")
        flow = Flow.objects.create(store=shop, name=f"Flow {k}", trigger="event", trigger_event_type="x.y")
        step = FlowStep.objects.create(flow=flow, position=0, kind="send_email")
        segment = Segment.objects.create(store=shop, name=f"S{k}", definition=STATIC)
        SegmentSnapshot.objects.create(segment=segment, day=RANGE[0], size=k)
        for i in range(3):
            who = customer(shop, f"more{k}{i}@example.com")
            for msg in (message(shop, who, T0, campaign=spring), message(shop, who, T0, flow=flow, step=step)):
                email(msg, "email.clicked", T0 + timedelta(hours=i))
            order(shop, who, f"M{k}{i}", "12.00", T0 + D)
    assert count() == before
