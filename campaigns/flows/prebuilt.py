"""Prebuilt flows, created disabled with editable starter emails (``install_prebuilt_flows``).

Email classes: the post-purchase thank-you, care tips and review request are order follow-ups (never held
back by smart sending or caps); sunset and re-engagement emails are re-engagement; the rest are flow emails.
"""

from __future__ import annotations

from django.db import transaction

from shopconnect.timeline.models import Store

from ..models import EmailTemplate, Flow, FlowStep, MessageClass

BASE = """<html><head><style>body{{font-family:Arial,sans-serif;color:#222}} .btn{{background:#1f6feb;color:#fff;
padding:10px 16px;text-decoration:none;border-radius:4px}} td{{padding:6px}}</style></head><body>
<p>Hi {{{{ customer.first_name|default:"there" }}}},</p>
{body}
<p style="font-size:12px;color:#777">{{{{ store.name }}}} &middot;
<a href="{{{{ unsubscribe_url }}}}">Unsubscribe or get fewer emails</a></p></body></html>"""
ITEMS = """<table>{% for item in items %}<tr><td>{% if item.image_url %}<img src="{{ item.image_url }}" width="80"
alt="">{% endif %}</td><td><a href="{{ item.url|default:store.url }}">{{ item.title }}</a>
&times; {{ item.quantity }}</td>
<td>{{ item.price }} {{ store.currency }}</td></tr>{% endfor %}</table>"""
RECS = """<p>You may also like:</p><ul>{% for p in recommendations %}<li><a href="{{ p.url }}">{{ p.title }}</a>
{{ p.price }}</li>{% endfor %}</ul>"""
PRODUCT = '{% if event.image_url %}<p><img src="{{ event.image_url }}" width="240" alt=""></p>{% endif %}'
CART_LINK = '<p><a class="btn" href="{{ recovery_url }}">Return to your cart</a></p>'
DISCOUNT = '{% if discount_code %}<p>Use code <strong>{{ discount_code }}</strong> at checkout.</p>{% endif %}'
SHOP = '<p><a class="btn" href="{{ store.url }}">Visit the shop</a></p>'


FOLLOWUP, REENGAGE = MessageClass.ORDER_FOLLOWUP, MessageClass.RE_ENGAGEMENT


def _email(subject: str, body: str) -> tuple[str, str]:
    return subject, BASE.format(body=body)


def _send(name, subject, body, **config):
    return ("send_email", name, config, _email(subject, body))


def _delay(**config):
    return ("delay", "", config, None)


# key: (name, trigger fields, steps); steps are (kind, name, config, (subject, html) or None)
PREBUILT: dict[str, tuple[str, dict, list]] = {
    "welcome": ("Welcome series (website signup)", {
        "trigger_event_type": "consent.changed", "reentry": "once",
        "trigger_filters": [{"property": "state", "op": "eq", "value": "subscribed"},
                            {"property": "source", "op": "neq", "value": "checkout"}]}, [
        _send("Welcome", "Welcome to {{ store.name }}", "<p>Thanks for joining us.</p>" + SHOP),
        _delay(days=2),
        _send("Our story", "What makes {{ store.name }} different", "<p>Here is what we care about.</p>" + RECS),
        _delay(days=3),
        _send("Best sellers", "Our customers' favourites", RECS + DISCOUNT, discount_code="WELCOME10"),
    ]),
    "welcome_post_purchase": ("Welcome series (post-purchase signup)", {
        "trigger_event_type": "consent.changed", "reentry": "once",
        "trigger_filters": [{"property": "state", "op": "eq", "value": "subscribed"},
                            {"property": "source", "op": "eq", "value": "checkout"}]}, [
        _send("Welcome customer", "Welcome to the {{ store.name }} family",
              "<p>Thanks for your order and for subscribing.</p>"),
    ]),
    # Exits when this checkout becomes an order (``goals``: the order carries its checkout or cart).
    "abandoned_cart": ("Abandoned cart", {
        "trigger_event_type": "checkout.started", "reentry": "per_days", "reentry_days": 1,
        "exit_goal": "order_for_trigger"}, [
        _delay(hours=1),
        _send("Reminder", "You left something in your cart", "<p>Your cart is waiting:</p>" + ITEMS + CART_LINK),
        _delay(hours=23),
        _send("Urgency", "Your cart is about to expire",
              "<p>Items in your cart are selling fast.</p>" + ITEMS + CART_LINK),
        _delay(hours=48),
        _send("Incentive", "A little something to complete your order", ITEMS + DISCOUNT + CART_LINK,
              discount_code="COMEBACK10"),
        _delay(days=4),
        _send("Alternatives", "Still looking? These might fit", "<p>Not quite right?</p>" + RECS),
    ]),
    # Added to cart, never started a checkout: a checkout within the hour ends it (the abandoned cart flow
    # takes over from there), so does any order; its email shares the cart's first-reminder intent.
    "added_to_cart": ("Added to cart, no checkout", {
        "trigger_event_type": "cart.updated", "reentry": "per_days", "reentry_days": 1, "exit_goal": "any_order",
        # the storefront says "added"; Shopify's carts/update webhooks say "updated"
        "trigger_filters": [{"property": "action", "op": "in", "value": ["added", "updated"]}]}, [
        ("wait_for_event", "No checkout in 1 hour", {"event_types": ["checkout.started"], "timeout_hours": 1,
                                                      "on_event": None, "on_timeout": 1}, None),
        _send("Still in your cart", "Still thinking it over?",
              "<p>You added this to your cart:</p>" + ITEMS + SHOP),
    ]),
    "browse_abandonment": ("Browse abandonment", {
        "trigger_event_type": "product.viewed", "reentry": "per_days", "reentry_days": 7, "exit_goal": "any_order"}, [
        _delay(hours=2),
        _send("Still thinking?", "Still thinking about {{ event.title }}?",
              '<p>You looked at <a href="{{ event.url }}">{{ event.title }}</a>.</p>' + RECS),
    ]),
    # The product webhooks say a requested variant is back / a product someone looked at got cheaper
    # (campaigns.catalog_triggers); the product shown is the catalog's.
    "back_in_stock": ("Back in stock", {"trigger_event_type": "product.back_in_stock", "reentry": "every_time"}, [
        _send("Back in stock", "{{ event.title }} is back in stock",
              '<p>Good news: <a href="{{ event.url|default:store.url }}">{{ event.title }}</a>'
              "{% if event.variant_title %} ({{ event.variant_title }}){% endif %} is back.</p>" + PRODUCT
              + '<p><a class="btn" href="{{ event.url|default:store.url }}">Get it before it is gone</a></p>',
              skip_smart_sending=True),  # they asked for this one: another email today does not hold it back
    ]),
    "price_drop": ("Price drop", {
        "trigger_event_type": "product.price_dropped", "reentry": "per_days", "reentry_days": 7,
        "exit_goal": "any_order",
        "trigger_filters": [{"property": "days_since_interest", "op": "lte", "value": 14}]}, [
        _send("Price drop", "The price of {{ event.title }} just dropped",
              '<p><a href="{{ event.url|default:store.url }}">{{ event.title }}</a>, which you looked at, now costs '
              "{{ event.price }} {{ store.currency }} (was {{ event.previous_price }}).</p>" + PRODUCT
              + '<p><a class="btn" href="{{ event.url|default:store.url }}">See it</a></p>'),
    ]),
    "post_purchase": ("Post-purchase", {"trigger_event_type": "order.placed", "reentry": "every_time"}, [
        _send("Thank you", "Thank you for your order", "<p>We are preparing your order.</p>" + ITEMS,
              message_class=FOLLOWUP),
        _delay(days=4),
        _send("Care tips", "Getting the most from your purchase", "<p>A few tips to make it last.</p>",
              message_class=FOLLOWUP),
        _delay(days=3),
        _send("Review request", "How do you like it?", "<p>Tell us what you think.</p>" + SHOP,
              message_class=FOLLOWUP),
        _delay(days=14),
        _send("Cross-sell", "Goes well with your purchase", RECS),
        _delay(days=9),
        _send("Replenishment", "Time to restock?", "<p>Running low?</p>" + ITEMS + SHOP),
    ]),
    "win_back": ("Win-back (90 days)", {"trigger_event_type": "order.placed", "reentry": "every_time"}, [
        ("wait_for_event", "No order in 90 days", {"event_types": ["order.placed"], "timeout_hours": 90 * 24,
                                                   "on_event": None, "on_timeout": 1}, None),
        _send("We miss you", "We miss you at {{ store.name }}", "<p>It has been a while.</p>" + RECS + DISCOUNT,
              discount_code="MISSYOU15"),
    ]),
    "sunset": ("Sunset unengaged subscribers", {"trigger_event_type": "email.sent", "reentry": "per_days",
                                                "reentry_days": 120}, [
        ("wait_for_event", "No engagement in 120 days", {"event_types": ["email.opened", "email.clicked"],
                                                         "timeout_hours": 120 * 24, "on_event": None,
                                                         "on_timeout": 1}, None),
        _send("Still interested?", "Do you still want to hear from us?",
              '<p>Click below to keep getting our emails.</p><p><a class="btn" href="{{ store.url }}">Keep me '
              "subscribed</a></p>", skip_smart_sending=True, message_class=REENGAGE),
        ("wait_for_event", "Clicked?", {"event_types": ["email.clicked"], "timeout_hours": 7 * 24,
                                        "on_event": None, "on_timeout": 3}, None),
        ("update_customer", "Suppress", {"suppress": "sunset: no engagement", "add_tags": ["sunset"]}, None),
    ]),
    "reengagement": ("Re-engage inactive subscribers", {"trigger_event_type": "email.sent", "reentry": "per_days",
                                                        "reentry_days": 60}, [
        ("wait_for_event", "No engagement in 60 days", {"event_types": ["email.opened", "email.clicked"],
                                                        "timeout_hours": 60 * 24, "on_event": None,
                                                        "on_timeout": 1}, None),
        _send("Re-engage", "Here is what you have missed", RECS + DISCOUNT, discount_code="HELLOAGAIN",
              message_class=REENGAGE),
    ]),
}


@transaction.atomic
def install_prebuilt_flows(store: Store, keys: list[str] | None = None, enable: tuple[str, ...] = ()) -> list[Flow]:
    """Create the prebuilt flows this store lacks (disabled unless named in ``enable``). Idempotent."""
    flows = []
    for key in keys or list(PREBUILT):
        name, fields, steps = PREBUILT[key]
        flow = Flow.objects.filter(store=store, prebuilt_key=key).first()
        if flow is None:
            flow = Flow.objects.create(store=store, name=name, prebuilt_key=key, trigger=Flow.Trigger.EVENT,
                                       enabled=key in enable, **fields)
            for position, (kind, step_name, shared_config, email) in enumerate(steps):
                config = dict(shared_config)
                template = None
                message_class = config.pop("message_class", MessageClass.FLOW)
                if email:
                    template = EmailTemplate.objects.create(store=store, name=f"{name}: {step_name}",
                                                            subject=email[0], html=email[1],
                                                            discount_code=config.pop("discount_code", ""))
                FlowStep.objects.create(flow=flow, position=position, kind=kind, name=step_name, config=config,
                                        template=template, message_class=message_class)
        elif key in enable and not flow.enabled:
            flow.enabled = True
            flow.save(update_fields=["enabled"])
        flows.append(flow)
    return flows
