"""The store dashboard on the demo data: what earned the money adds up to the headline, nothing is dated
in the future, and the demo campaign's revenue shows in the default range (no need to set "To" to tomorrow)."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from campaigns.models import FlowDecision, Message
from shopconnect.timeline.models import Event
from tests import browser

pytestmark = browser.marks


def _money(text: str) -> Decimal:
    return Decimal(text.replace(",", "").replace("USD", "").strip())


def test_rankings_add_up_to_the_headline_on_the_demo(admin_browser, make_user, demo_store):
    now = timezone.now()
    assert not Event.objects.filter(store=demo_store, occurred_at__gt=now).exists()
    assert not Message.objects.filter(store=demo_store, sent_at__gt=now).exists()
    assert not FlowDecision.objects.filter(enrollment__flow__store=demo_store, at__gt=now).exists()
    page = admin_browser(make_user(demo_store))
    page.goto(admin_browser.url("/admin/"))
    page.get_by_role("link", name="Open the store dashboard").click()
    summary = dict(zip(page.locator(".report-summary div").evaluate_all(
        "els => els.map(e => e.firstChild.textContent.trim())"),
        page.locator(".report-summary strong").all_inner_texts(), strict=True))
    headline = _money(summary["Attributed revenue"])
    parts = [_money(summary[k]) for k in ("from flows", "from campaigns", "other email")]
    assert headline > 0 and sum(parts) == headline
    assert _money(summary["from campaigns"]) > 0  # the demo campaign's orders are in the default range
    assert summary["Best campaign"].startswith("Spring sale (demo A/B test)")
    earned = page.locator(".report-section", has_text="What earned the money")
    rows = [r.locator("td").all_inner_texts() for r in earned.locator("tbody tr").all()]
    *sources, total = rows
    assert total[0] == "Total (the headline)" and _money(total[-1]) == headline
    assert sum(_money(r[-1]) for r in sources) == headline
    assert {r[1] for r in sources} <= {"Campaign", "Flow", "Other"}
    assert page.locator(".report-section", has_text="Segment growth").locator("svg").count() == 1
    browser.assert_fits(page)
    browser.shot(page, "dashboard-demo")


def test_a_second_demo_run_changes_nothing_a_marketer_made(demo_store):
    from io import StringIO

    from django.core.management import call_command

    from campaigns.models import Enrollment, Flow

    mine = Flow.objects.create(store=demo_store, name="My checkout flow", enabled=True,
                               trigger_event_type="checkout.started", reentry="every_time")
    before = (Event.objects.count(), Message.objects.count(), Enrollment.objects.count())
    out = StringIO()
    call_command("demo", customers=60, stdout=out)
    assert "already loaded: nothing changed" in out.getvalue()
    assert (Event.objects.count(), Message.objects.count(), Enrollment.objects.count()) == before
    assert not Enrollment.objects.filter(flow=mine).exists()
