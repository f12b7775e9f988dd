"""Count what the demo's cart flows send, the way a marketer tried it (issue 20).

    DATABASE_URL=sqlite:////tmp/demo_counts.sqlite3 .venv/bin/python scripts/demo_counts.py

On an empty database (it refuses a database that already has a demo store): ``manage.py demo``, then a
second cart flow made by the marketer (the prebuilt one's first reminder, enabled), then ``manage.py
demo`` again (a restart of ``make run``), then the worker's flow and sender tasks run as time passes
(2 h, 1 day, 3 days and 1 week later). Prints one JSON object: cart reminders sent, how many went to a
customer whose checkout had already become an order (or who had ordered since the checkout), and how
many checkouts got the same reminder from two flows; then the same after the marketer explicitly asks
for mail about recent history (both cart flows' relevance window raised to 4 days and the last three days
of checkouts replayed through the flows), where the code has a relevance window.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopconnect.settings")


def main() -> None:
    import django

    django.setup()
    import time_machine
    from django.core.management import call_command
    from django.utils import timezone

    from campaigns.flows.engine import advance_due_enrollments
    from campaigns.models import EmailTemplate, Flow, FlowStep
    from campaigns.sender import send_due_messages
    from integrations.demo import DEMO_DOMAIN, tasks_inline
    from shopconnect.timeline.models import Event, Store

    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet):
        call_command("migrate", verbosity=0)
    if Store.objects.filter(domain=DEMO_DOMAIN).exists():
        raise SystemExit("this database already has the demo store: use an empty one")
    with contextlib.redirect_stdout(quiet):
        call_command("demo")
    store = Store.objects.get(domain=DEMO_DOMAIN)
    prebuilt = Flow.objects.get(store=store, prebuilt_key="abandoned_cart")
    reminder = prebuilt.steps.get(position=1).template
    mine = Flow.objects.create(store=store, name="My cart reminder", enabled=True, trigger=Flow.Trigger.EVENT,
                               trigger_event_type="checkout.started", reentry=Flow.Reentry.PER_DAYS,
                               reentry_days=1, exit_goal=Flow.Goal.ANY_ORDER)
    FlowStep.objects.create(flow=mine, position=0, kind="delay", config={"hours": 1})
    FlowStep.objects.create(flow=mine, position=1, kind="send_email", name="Reminder",
                            template=EmailTemplate.objects.create(store=store, name="My cart reminder",
                                                                  subject=reminder.subject, html=reminder.html))
    with contextlib.redirect_stdout(quiet):
        call_command("demo")  # make run again
        start = timezone.now()
        for hours in (2, 25, 73, 169):
            with time_machine.travel(start + timedelta(hours=hours), tick=False), tasks_inline():
                advance_due_enrollments(send=False)
                send_due_messages()

    counts = {"default": _counts(store)}
    if hasattr(Flow, "relevance_hours"):
        # The marketer asks for mail about recent history explicitly: both cart flows take triggers up to
        # four days old, and the last three days of checkouts are replayed through the flows.
        from campaigns.flows.triggers import enrol_from_events

        Flow.objects.filter(store=store, trigger_event_type="checkout.started").update(relevance_hours=96)
        with contextlib.redirect_stdout(quiet):
            with time_machine.travel(start, tick=False), tasks_inline():
                recent = Event.objects.filter(store=store, type="checkout.started",
                                              occurred_at__gte=start - timedelta(days=3))
                enrol_from_events(store.pk, list(recent.values_list("id", flat=True)))
            for hours in (2, 25, 73, 169):
                with time_machine.travel(start + timedelta(hours=hours), tick=False), tasks_inline():
                    advance_due_enrollments(send=False)
                    send_due_messages()
        counts["history_asked_for"] = _counts(store)
    print(json.dumps(counts, indent=1))


def _counts(store) -> dict:
    from django.db.models import Count

    from campaigns.models import Flow, Message
    from shopconnect.timeline.models import Event

    cart_flows = list(Flow.objects.filter(store=store, trigger_event_type__in=["checkout.started", "cart.updated"]))
    sent = list(Message.objects.filter(flow__in=cart_flows, state=Message.State.SENT)
                .select_related("trigger_event", "step", "flow").order_by("id"))
    orders = list(Event.objects.filter(store=store, type="order.placed").values_list(
        "customer_id", "occurred_at", "properties"))

    def ordered(message) -> bool:
        trigger = message.trigger_event
        refs = {str((trigger.properties or {}).get(k) or "") for k in ("checkout_id", "checkout_token", "cart_token")}
        refs.discard("")
        for customer_id, at, props in orders:
            if customer_id != message.customer_id:
                continue
            theirs = {str(props.get(k) or "") for k in ("checkout_id", "checkout_token", "cart_token")}
            if refs & theirs or trigger.occurred_at <= at <= message.sent_at:
                return True
        return False

    first_position = {f.pk: min(s.position for s in f.steps.all() if s.kind == "send_email") for f in cart_flows}
    first = [m for m in sent if m.step.position == first_position[m.flow_id]]
    per_checkout: dict[tuple, set[int]] = {}
    for m in first:
        key = (m.customer_id, str((m.trigger_event.properties or {}).get("checkout_id")))
        per_checkout.setdefault(key, set()).add(m.flow_id)
    skipped = dict(Message.objects.filter(flow__in=cart_flows, state=Message.State.SKIPPED)
                   .values("skip_reason").annotate(n=Count("id")).values_list("skip_reason", "n"))
    return {
        "cart_emails_sent": len(sent),
        "first_reminders_sent": {f.name: sum(1 for m in first if m.flow_id == f.pk) for f in cart_flows},
        "sent_to_customers_who_had_ordered": sum(1 for m in sent if ordered(m)),
        "checkouts_reminded_by_two_flows": sum(1 for flows in per_checkout.values() if len(flows) > 1),
        "skipped": skipped,
    }

if __name__ == "__main__":
    main()
