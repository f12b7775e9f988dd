"""One message per intent across flows: a customer never gets the same kind of message about the same
checkout, cart or product twice, whichever flows (or re-entries of one flow) would send it.

Every email of a flow triggered by a checkout, cart or product event gets an intent key: the trigger's
object and the message's purpose, for example ``cart:c1a2b3:reminder-1`` (the first email of a cart or
checkout flow about cart ``c1a2b3``) or ``product:8100000001:browse-1``. The object is the cart token
when the event has one (so cart and checkout flows about one cart share it), else the checkout token or
id; the purpose is the step's ``"purpose"`` (config) when set, else the family and the email's rank in
its flow (``reminder-2`` is the second email of any cart flow). ``Message.intent_key`` is unique per store
(a partial unique constraint, like the idempotency key), so the database itself refuses the second
copy; the engine then writes the second flow's row as skipped, saying which flow already has it.
Flows with other triggers (orders, sign-ups, segments, dates) get no intent key.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..models import Flow, FlowStep, Message

FAMILIES = {"checkout.started": "reminder", "checkout.updated": "reminder", "cart.updated": "reminder",
            "product.viewed": "browse"}
ABOUT = {"cart": "this checkout or cart", "product": "this product"}


def intent_object(event_type: str, properties: dict | None) -> str:
    props = properties or {}
    family = FAMILIES.get(event_type)
    if family == "reminder":
        ref = props.get("cart_token") or props.get("checkout_token") or props.get("checkout_id")
        return f"cart:{ref}" if ref else ""
    if family == "browse":
        return f"product:{props['product_id']}" if props.get("product_id") else ""
    return ""


def purpose(flow: Flow, step: FlowStep, steps: Iterable[FlowStep]) -> str:
    named = (step.config or {}).get("purpose")
    if named:
        return str(named)[:60]
    emails = sorted(s.position for s in steps if s.kind == FlowStep.Kind.SEND_EMAIL)
    rank = emails.index(step.position) + 1 if step.position in emails else 1
    return f"{FAMILIES.get(flow.trigger_event_type, 'email')}-{rank}"


def intent_key(flow: Flow, step: FlowStep, steps: Iterable[FlowStep], event_type: str | None,
               properties: dict | None) -> str:
    if flow.trigger != Flow.Trigger.EVENT or event_type is None:
        return ""
    thing = intent_object(event_type, properties)
    return f"{thing}:{purpose(flow, step, steps)}"[:255] if thing else ""


def refused(store_id: int, messages: list[Message]) -> dict[str, str]:
    """After an ``INSERT ... ON CONFLICT DO NOTHING`` of ``messages``: the idempotency keys that were not
    written because another row holds their intent, with the reason for the log."""
    keyed = {m.idempotency_key: m for m in messages if m.intent_key}
    if not keyed:
        return {}
    written = set(Message.objects.filter(idempotency_key__in=list(keyed)).values_list("idempotency_key", flat=True))
    lost = {key: m for key, m in keyed.items() if key not in written}
    if not lost:
        return {}
    holders = {intent: (flow_name, step_name) for intent, flow_name, step_name in Message.objects.filter(
        store_id=store_id, intent_key__in={m.intent_key for m in lost.values()}).values_list(
        "intent_key", "flow__name", "step__name")}
    reasons = {}
    for key, message in lost.items():
        flow_name, step_name = holders.get(message.intent_key, ("another flow", ""))
        about = ABOUT.get(message.intent_key.split(":", 1)[0], "this trigger")
        reasons[key] = (f"one message per intent: flow '{flow_name}'" + (f" ({step_name})" if step_name else "")
                        + f" already has this message about {about}")[:200]
    return reasons
