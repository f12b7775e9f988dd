"""The flow canvas in a real browser, as a marketer uses it: prebuilt flows drawn as cards, and the
two-email abandoned-cart flow built without typing JSON, turned on, and entered by a signed Shopify
checkout webhook sent over real HTTP to the live server."""

from __future__ import annotations

from campaigns.flows.prebuilt import install_prebuilt_flows
from tests import browser

pytestmark = browser.marks


def _open(page, admin_browser, flow):
    page.goto(admin_browser.url(f"/admin/campaigns/flow/{flow.pk}/change/"))
    page.wait_for_selector(".fc-card")


def test_prebuilt_browse_abandonment_and_win_back_in_the_canvas(admin_browser, make_store, make_user):
    store = make_store(name="Linen & Co")
    browse, win_back = install_prebuilt_flows(store, ["browse_abandonment", "win_back"])
    page = admin_browser(make_user(store))
    _open(page, admin_browser, browse)
    cards = page.locator("#flow-canvas .fc-card")
    assert cards.count() == 2
    assert cards.nth(0).locator("select[aria-label=unit]").input_value() == "hours"
    assert cards.nth(0).locator("input[aria-label='how long']").input_value() == "2"
    assert "Browse abandonment: Still thinking?" in cards.nth(1).locator("select.fc-template").evaluate(
        "el => el.options[el.selectedIndex].text")
    assert page.locator("#id_trigger_event_type").input_value() == "product.viewed"
    browser.assert_fits(page)
    browser.shot(page, "flow-canvas-browse-abandonment")
    email_id = browse.steps.get(kind="send_email").pk

    # a condition split between the wait and the email: the email goes on in the "Yes" branch
    page.locator("#flow-canvas .fc-plus").nth(1).click()
    page.locator(".fc-menu:not([hidden]) .fc-menu-item", has_text="Condition split").click()
    split = page.locator(".fc-card.fc-condition")
    split.locator("select[aria-label='add a condition']").select_option(label="Properties about someone")
    assert page.locator(".fc-branch").nth(0).locator(".fc-card.fc-send_email").count() == 1
    browser.assert_fits(page)
    browser.shot(page, "flow-canvas-browse-abandonment-split")
    with page.expect_navigation():
        page.click("input[name=_continue]")
    assert page.locator(".fc-has-error").count() == 0, page.inner_text("#content-main")[:500]
    steps = list(browse.steps.order_by("position"))
    assert [s.kind for s in steps] == ["delay", "condition", "send_email"]
    assert steps[2].pk == email_id  # the email kept its row (and its report): edited in place, not re-created
    assert (steps[1].config["yes"], steps[1].config["no"]) == (2, None)
    assert steps[1].config["rule"]["rules"][0]["type"] == "attribute"

    _open(page, admin_browser, win_back)
    labels = page.locator(".fc-branch-label").all_inner_texts()
    assert labels == ["If they do", "If not within 90 days"]
    timeout_branch = page.locator(".fc-branch").nth(1)
    assert timeout_branch.locator(".fc-card.fc-send_email").count() == 1  # the email is on the timeout side
    browser.assert_fits(page)
    browser.shot(page, "flow-canvas-win-back")


def _add_step(page, kind: str) -> None:
    page.locator("#flow-canvas .fc-plus").last.click()
    page.locator(".fc-menu:not([hidden]) .fc-menu-item", has_text=kind).first.click()


def _submit(page, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def _webhook(url: str, topic: str, body: bytes, event_id: str) -> int:
    from urllib.request import Request, urlopen

    from tests.integrations.shopify.helpers import headers

    request = Request(url, data=body, method="POST", headers={"Content-Type": "application/json",
                                                                **headers(body, topic, event_id)})
    with urlopen(request, timeout=10) as answer:  # noqa: S310 (the test's own live server)
        return answer.status


def test_a_marketer_builds_the_abandoned_cart_flow_turns_it_on_and_a_checkout_enrols(
        admin_browser, make_store, make_user, settings):
    import json

    from django.utils import timezone

    from campaigns.models import EmailProvider, EmailTemplate, Enrollment, Flow
    from tests.integrations.shopify.helpers import SECRET, SHOP, payload

    settings.SHOPIFY_API_KEY, settings.SHOPIFY_API_SECRET = "test-api-key", SECRET
    store = make_store(platform="shopify", domain=SHOP, url=f"https://{SHOP}", currency="EUR", name="Linen & Co")
    EmailProvider.objects.create(store=store, kind="locmem", from_email="hello@linen.example")
    reminder = EmailTemplate.objects.create(store=store, name="Cart reminder", subject="You left something",
                                            html="<p>Your cart is waiting</p>")
    last_call = EmailTemplate.objects.create(store=store, name="Cart last call", subject="Last call for your cart",
                                             html="<p>Still there</p>")
    (old,) = install_prebuilt_flows(store, ["abandoned_cart"], enable=("abandoned_cart",))

    page = admin_browser(make_user(store))
    page.goto(admin_browser.url("/admin/campaigns/flow/"))
    page.click("a.addlink:has-text('Add flow')")
    page.fill("#id_name", "Cart recovery (two emails)")
    page.select_option("#id_store", label="Linen & Co")
    page.select_option("#id_trigger", label="An event happens")
    page.select_option("#id_trigger_event_type", label="Started checkout")
    page.select_option("#id_reentry", label="At most once every N days")
    page.fill("#id_reentry_days", "1")
    page.get_by_label("Stop when the customer places an order for this checkout or cart").check()
    trigger = page.locator(".field-trigger_filters")
    trigger.locator("text=+ Add a property condition").click()
    trigger.locator("select[aria-label=property]").select_option(label="Checkout total")
    trigger.locator("select[aria-label=comparison]").select_option(label="is more than")
    trigger.locator("input[aria-label=value]").fill("50")

    _add_step(page, "Wait")  # a new wait is one hour
    _add_step(page, "Send email")
    page.locator(".fc-card.fc-send_email select.fc-template").nth(0).select_option(label="Cart reminder")
    _add_step(page, "Wait")
    page.locator(".fc-card.fc-delay").nth(1).locator("input[aria-label='how long']").fill("23")
    _add_step(page, "Send email")  # no email chosen yet: the server's check says so on that card, before saving
    page.wait_for_selector(".fc-card.fc-send_email.fc-has-error")
    assert page.inner_text(".fc-status") == "Not ready to save: 1 step needs attention (marked in red)."
    _submit(page, "input[name=_continue]")
    problem = page.locator(".fc-card.fc-has-error")
    assert problem.count() == 1 and "choose the email this step sends (it has no template)" in problem.inner_text()
    assert problem.get_attribute("data-kind") == "send_email"
    assert not Flow.objects.filter(name="Cart recovery (two emails)").exists()
    browser.shot(page, "flow-canvas-error-on-the-card")

    page.locator(".fc-card.fc-send_email select.fc-template").nth(1).select_option(label="Cart last call")
    page.wait_for_selector(".fc-status.fc-ok")
    assert page.locator(".fc-has-error").count() == 0
    browser.assert_fits(page)
    browser.shot(page, "flow-canvas-abandoned-cart-built")
    _submit(page, "input[name=_continue]")
    flow = Flow.objects.get(name="Cart recovery (two emails)")
    steps = list(flow.steps.order_by("position").values_list("kind", "config", "template_id"))
    assert steps == [("delay", {"hours": 1}, None), ("send_email", {}, reminder.pk),
                     ("delay", {"hours": 23}, None), ("send_email", {}, last_call.pk)]
    assert (flow.trigger_event_type, flow.reentry, flow.reentry_days, flow.exit_goal, flow.enabled) == (
        "checkout.started", "per_days", 1, "order_for_trigger", False)
    assert flow.trigger_filters == [{"property": "total", "op": "gt", "value": 50}]

    _submit(page, "input[name=_turn_on]")
    page.wait_for_selector(".fc-overlap")
    warning = page.inner_text(".fc-overlap")
    assert "1 other flow already starts on “Started checkout” where checkout total is more than 50" in warning
    page.get_by_label("Turn off “Abandoned cart”").check()
    browser.assert_fits(page)
    browser.shot(page, "flow-canvas-turn-on-confirm")
    _submit(page, "text=Yes, turn on")
    said = page.inner_text(".messagelist")
    assert ("“Cart recovery (two emails)” is on: customers enter on “Started checkout” where checkout total is "
            "more than 50.") in said
    assert "Turned off: “Abandoned cart”" in said
    flow.refresh_from_db()
    old.refresh_from_db()
    assert flow.enabled and not old.enabled

    checkout = payload("checkouts_create")
    now = timezone.now().isoformat()
    checkout["created_at"] = checkout["updated_at"] = now
    status = _webhook(admin_browser.url("/webhooks/shopify/"), "checkouts/create", json.dumps(checkout).encode(),
                      "evt-cart-1")
    assert status == 200
    (enrollment,) = Enrollment.objects.filter(flow=flow)
    assert enrollment.customer.email == "zoe.angstrom@example.com" and enrollment.status == "active"
    assert enrollment.checkout_ref and not Enrollment.objects.filter(flow=old).exists()
    page.reload()
    page.wait_for_selector(".fc-numbers")
    assert page.locator(".fc-card.fc-delay").first.locator(".fc-numbers").inner_text() == "1 customer waiting here"
    browser.assert_fits(page)
    browser.shot(page, "flow-canvas-abandoned-cart-live")


def test_every_kind_of_card_reads_as_a_sentence(admin_browser, make_store, make_user):
    from campaigns.models import EmailTemplate, Flow, FlowStep

    store = make_store(name="Linen & Co")
    email = EmailTemplate.objects.create(store=store, name="VIP thanks", subject="Thank you", html="<p>x</p>")
    flow = Flow.objects.create(store=store, name="VIP care", trigger_event_type="order.placed", reentry="every_time")
    rule = {"version": 1, "type": "and", "rules": [{"type": "attribute", "field": "total_spent", "op": "gte",
                                                    "value": 500}]}
    rows = [
        ("condition", {"rule": rule, "yes": 1, "no": 6}, None),
        ("ab_split", {"variants": [{"label": "A", "weight": 80, "next": 2}, {"label": "B", "weight": 20, "next": 3}]},
         None),
        ("send_email", {"next": 4}, email),
        ("update_customer", {"add_tags": ["vip"], "next": 4}, None),
        ("wait_for_event", {"event_types": ["email.opened", "email.clicked"], "timeout_hours": 72, "on_event": None,
                            "on_timeout": 5}, None),
        ("delay", {"days": 1, "until_hour": 10, "next": None}, None),
        ("exit", {"reason": "not a VIP"}, None),
    ]
    for position, (kind, config, template) in enumerate(rows):
        FlowStep.objects.create(flow=flow, position=position, kind=kind, config=config, template=template)
    page = admin_browser(make_user(store))
    _open(page, admin_browser, flow)
    assert sorted(page.locator(".fc-branch-label").all_inner_texts()) == sorted([
        "Yes", "No", "Variant A · 80%", "Variant B · 20%", "If they do", "If not within 3 days"])
    assert page.locator(".fc-jump").inner_text().startswith("Then continue at “Wait for an event”")
    assert page.locator(".fc-card.fc-delay select[aria-label='until the time of day']").input_value() == "10"
    browser.assert_fits(page)
    browser.shot(page, "flow-canvas-every-kind")
    page.click("text=More settings")
    more = page.locator("fieldset.collapse")
    assert "Only customers who" in more.inner_text() and more.locator(".rule-builder").count() == 1
    more.screenshot(path=str(browser.shot(page, "flow-canvas-more-settings")))
