"""The canvas's tree of a flow round-trips to the same steps and paths; its cards' numbers come from two
grouped queries."""

from __future__ import annotations

import pytest

from campaigns.flows.canvas import TreeError, card_numbers, from_tree, to_tree
from campaigns.flows.prebuilt import PREBUILT, install_prebuilt_flows
from campaigns.models import Flow, FlowStep


def _paths(steps: list[dict]) -> dict:
    """Step id (or position for new steps) -> where each way out of it leads, as the engine reads targets."""
    by_position = {s["position"]: s for s in steps}

    def name(position):
        step = by_position.get(position)
        return None if step is None else step.get("id", f"new@{position}")

    def following(position):
        later = sorted(p for p in by_position if p > position)
        return later[0] if later else None

    out = {}
    for s in steps:
        c, p = s.get("config") or {}, s["position"]
        if s["kind"] == "condition":
            ways = [c.get("yes", following(p)), c.get("no")]
        elif s["kind"] == "wait_for_event":
            ways = [c.get("on_event"), c.get("on_timeout", following(p))]
        elif s["kind"] == "ab_split":
            ways = [v.get("next", following(p)) for v in c["variants"]]
        elif s["kind"] == "exit":
            ways = []
        else:
            ways = [c["next"] if "next" in c else following(p)]
        out[name(p)] = [name(w) for w in ways]
    return out


def _stored(flow: Flow) -> list[dict]:
    return [{"id": s.pk, "position": s.position, "kind": s.kind, "config": s.config}
            for s in flow.steps.order_by("position")]


@pytest.mark.parametrize("key", sorted(PREBUILT))
def test_every_prebuilt_flow_round_trips_through_the_canvas(store, key):
    (flow,) = install_prebuilt_flows(store, [key])
    tree = to_tree(flow.steps.all())
    assert not tree["detached"]
    specs, keys = from_tree(tree)
    assert _paths(specs) == _paths(_stored(flow))
    assert keys == [f"s{s['id']}" for s in specs]


def test_branches_merges_and_unreachable_steps_are_kept(store):
    flow = Flow.objects.create(store=store, name="F", trigger_event_type="order.placed")
    rule = {"version": 1, "type": "and", "rules": [{"type": "attribute", "field": "orders_count", "op": "gte",
                                                    "value": 2}]}
    rows = [("condition", {"rule": rule, "yes": 1, "no": 2}), ("update_customer", {"add_tags": ["vip"], "next": 3}),
            ("delay", {"hours": 1}), ("exit", {"reason": "done"}), ("delay", {"hours": 5, "next": None})]
    for position, (kind, config) in enumerate(rows):
        FlowStep.objects.create(flow=flow, position=position, kind=kind, config=config)
    tree = to_tree(flow.steps.all())
    yes, no = tree["steps"][0]["branches"]
    assert [n["kind"] for n in yes] == ["update_customer", "exit"]
    assert [n["kind"] for n in no] == ["delay", "jump"]  # the no branch merges into the exit
    assert [[n["kind"] for n in seq] for seq in tree["detached"]] == [["delay"]]
    specs, _ = from_tree(tree)
    assert _paths(specs) == _paths(_stored(flow))


def test_a_step_after_a_split_in_the_same_line_is_refused_on_its_card(store):
    split = {"key": "n1", "kind": "condition", "config": {"rule": {}}, "branches": [[], []]}
    with pytest.raises(TreeError) as caught:
        from_tree({"steps": [split, {"key": "n2", "kind": "delay", "config": {"hours": 1}}]})
    assert caught.value.key == "n1"


def test_card_numbers_are_two_queries_whatever_the_flow(store, django_assert_num_queries):
    (flow,) = install_prebuilt_flows(store, ["abandoned_cart"])
    with django_assert_num_queries(3):  # the steps' places, the waiting, the sent
        numbers = card_numbers(flow.pk)
    assert set(numbers) == set(flow.steps.values_list("pk", flat=True))
    assert all(n == {"waiting": 0, "sent": 0} for n in numbers.values())


@pytest.mark.parametrize("key", sorted(PREBUILT))
def test_every_prebuilt_flow_passes_the_one_validator_as_the_canvas_posts_it(store, key):
    from campaigns.flows.editing import validate_flow

    (flow,) = install_prebuilt_flows(store, [key])
    specs, _ = from_tree(to_tree(flow.steps.all()))
    validate_flow(flow, specs)  # no FlowErrors: the canvas can save every prebuilt flow unchanged


def test_an_email_card_sends_a_test_of_its_email_to_me_and_only_from_my_stores(shop, subscribe, make_store,
                                                                               make_user, client):
    from django.core import mail

    from campaigns.models import EmailTemplate

    subscribe(shop, "ana@example.com", first_name="Ana")
    mine = EmailTemplate.objects.create(store=shop, name="Reminder", subject="Hi {{ customer.first_name }}",
                                        html="<p>Hello {{ customer.first_name }}</p>")
    theirs = EmailTemplate.objects.create(store=make_store(), name="Theirs", subject="x", html="x")
    user = make_user(shop)
    user.email = "marketer@outdoor.example"
    user.save()
    client.force_login(user)
    sent = client.post("/admin/campaigns/flow/send-test/", {"template": mine.pk})
    assert sent.status_code == 200 and "Test sent to marketer@outdoor.example" in sent.json()["sent"]
    assert [(m.to, m.subject) for m in mail.outbox] == [(["marketer@outdoor.example"], "[Test] Hi Ana")]
    refused = client.post("/admin/campaigns/flow/send-test/", {"template": theirs.pk})
    assert refused.status_code == 400 and len(mail.outbox) == 1


def test_an_ab_split_draws_one_branch_per_variant_and_keeps_its_weights(store):
    flow = Flow.objects.create(store=store, name="F", trigger_event_type="order.placed")
    variants = [{"label": "A", "weight": 70, "next": 1}, {"label": "B", "weight": 30, "next": 2}]
    for position, (kind, config) in enumerate([("ab_split", {"variants": variants}),
                                               ("update_customer", {"add_tags": ["a"], "next": None}),
                                               ("update_customer", {"add_tags": ["b"]})]):
        FlowStep.objects.create(flow=flow, position=position, kind=kind, config=config)
    tree = to_tree(flow.steps.all())
    split = tree["steps"][0]
    assert split["config"]["variants"] == [{"label": "A", "weight": 70}, {"label": "B", "weight": 30}]
    assert [[n["config"]["add_tags"] for n in b] for b in split["branches"]] == [[["a"]], [["b"]]]
    specs, _ = from_tree(tree)
    assert _paths(specs) == _paths(_stored(flow))


def test_the_trigger_panel_offers_segments_by_name_from_the_flows_store_only(store, make_store, make_user,
                                                                             client):
    from segments.models import Segment

    rule = {"version": 1, "type": "and", "rules": [{"type": "attribute", "field": "orders_count", "op": "gte",
                                                    "value": 1}]}
    Segment.objects.create(store=store, name="Buyers", definition=rule)
    other = make_store()
    Segment.objects.create(store=other, name="Their buyers", definition=rule)
    flow = Flow.objects.create(store=store, name="F", trigger="segment_entered", trigger_event_type="",
                               trigger_segment_id=Segment.objects.get(name="Buyers").pk)
    client.force_login(make_user(store, other))
    page = client.get(f"/admin/campaigns/flow/{flow.pk}/change/").content.decode()
    assert ">Buyers</option>" in page and "Their buyers" not in page


def test_a_viewer_sees_the_canvas_without_saving(store, make_user, client):
    (flow,) = install_prebuilt_flows(store, ["abandoned_cart"])
    client.force_login(make_user(store, role="viewer"))
    page = client.get(f"/admin/campaigns/flow/{flow.pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert '"readOnly": true' in text and 'name="_save"' not in text and "Save and turn on" not in text
    assert client.get(f"/admin/campaigns/flow/{flow.pk}/enable/").status_code == 404


def test_checking_a_flow_as_it_is_edited_answers_by_card_and_saves_nothing(store, make_user, client):
    import json

    (flow,) = install_prebuilt_flows(store, ["browse_abandonment"])
    tree = to_tree(flow.steps.all())
    tree["steps"][0]["config"] = {}  # a wait of no time
    client.force_login(make_user(store))
    form = {"name": "Renamed", "store": store.pk, "trigger": "event", "trigger_event_type": "product.viewed",
            "trigger_filters": "[]", "reentry": "per_days", "reentry_days": "7", "exit_goal": "any_order",
            "holdout_percent": "0", "canvas": json.dumps(tree)}
    answer = client.post(f"/admin/campaigns/flow/check/?flow={flow.pk}", form).json()
    assert answer["valid"] is False
    why = "wait some time (days, hours or minutes) or until a time of day"
    assert answer["cards"] == {tree["steps"][0]["key"]: [why]}
    flow.refresh_from_db()
    assert flow.name == "Browse abandonment" and flow.steps.get(position=0).config == {"hours": 2}
    tree["steps"][0]["config"] = {"hours": 3}
    good = client.post(f"/admin/campaigns/flow/check/?flow={flow.pk}", {**form, "canvas": json.dumps(tree)}).json()
    assert good == {"valid": True, "cards": {}, "fields": {}}
    assert flow.steps.get(position=0).config == {"hours": 2}  # checked, not saved


def test_a_flow_can_start_on_a_custom_event_named_in_words(store, make_user, client):
    import json

    client.force_login(make_user(store))
    form = {"name": "SMS replies", "store": store.pk, "trigger": "event", "trigger_event_type": "custom",
            "custom_event": "sms reply", "trigger_filters": "[]", "reentry": "once", "reentry_days": "30",
            "exit_goal": "", "holdout_percent": "0",
            "canvas": json.dumps({"steps": [{"key": "n1", "kind": "update_customer",
                                             "config": {"add_tags": ["replied"]}}]})}
    bad = client.post("/admin/campaigns/flow/add/", form)
    assert "Give the custom event" in bad.content.decode() and not Flow.objects.exists()
    stop = '[{"property": "keyword", "op": "eq", "value": "STOP"}]'
    client.post("/admin/campaigns/flow/add/", {**form, "custom_event": "sms_reply", "trigger_filters": stop})
    flow = Flow.objects.get()
    assert flow.trigger_event_type == "custom.sms_reply" and flow.trigger_filters[0]["property"] == "keyword"
    assert flow.steps.get().config == {"add_tags": ["replied"]}
    page = client.get(f"/admin/campaigns/flow/{flow.pk}/change/").content.decode()
    assert '<option value="custom.sms_reply" selected>custom: sms_reply</option>' in page


def test_turning_flows_on_from_the_list_goes_through_the_confirmation(store, make_user, client):
    welcome, cart = install_prebuilt_flows(store, ["welcome", "abandoned_cart"])
    client.force_login(make_user(store))
    one = client.post("/admin/campaigns/flow/", {"action": "enable", "_selected_action": [cart.pk]})
    assert one.status_code == 302 and one["Location"] == f"/admin/campaigns/flow/{cart.pk}/enable/"
    cart.refresh_from_db()
    assert not cart.enabled  # nothing turned on before the marketer confirms
    both = client.post("/admin/campaigns/flow/", {"action": "enable", "_selected_action": [cart.pk, welcome.pk]},
                       follow=True)
    assert "Choose one flow to turn on" in both.content.decode()
    assert not Flow.objects.filter(enabled=True).exists()
    client.post(f"/admin/campaigns/flow/{cart.pk}/enable/")
    off = client.post(f"/admin/campaigns/flow/{cart.pk}/disable/", follow=True)
    assert "“Abandoned cart” is off: nobody new enters" in off.content.decode()
    assert not Flow.objects.filter(enabled=True).exists()


def test_removing_a_step_customers_wait_at_is_refused_in_words_while_checking(store, make_user, client):
    import json

    from django.utils import timezone

    from campaigns.models import Enrollment
    from shopconnect.timeline.models import Customer

    (flow,) = install_prebuilt_flows(store, ["browse_abandonment"])
    customer = Customer.objects.create(store=store, email="ana@example.com", created_at=timezone.now())
    now = timezone.now()
    Enrollment.objects.create(flow=flow, customer=customer, entry_key="k", position=0, due_at=now, entered_at=now)
    tree = to_tree(flow.steps.all())
    tree["steps"] = tree["steps"][1:]  # the marketer deleted the wait card
    client.force_login(make_user(store))
    form = {"name": flow.name, "store": store.pk, "trigger": "event", "trigger_event_type": "product.viewed",
            "trigger_filters": "[]", "reentry": "per_days", "reentry_days": "7", "exit_goal": "any_order",
            "holdout_percent": "0", "canvas": json.dumps(tree)}
    answer = client.post(f"/admin/campaigns/flow/check/?flow={flow.pk}", form).json()
    assert answer["fields"] == {"The flow": [
        "1 customer(s) are waiting at step “Delay”: it cannot be removed while they are there."]}
    saved = client.post(f"/admin/campaigns/flow/{flow.pk}/change/", form)
    assert "it cannot be removed while they are there" in saved.content.decode() and flow.steps.count() == 2
