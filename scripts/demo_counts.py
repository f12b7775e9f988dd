"""Count what the demo's cart flows send, the way a marketer tried it (issue 20).

    DATABASE_URL=sqlite:////tmp/demo_counts.sqlite3 .venv/bin/python scripts/demo_counts.py

On an empty database (it refuses a database that already has a demo store): ``manage.py demo``, then a
second cart flow made by the marketer (the prebuilt one's first reminder, enabled), then ``manage.py
demo`` again (a restart of ``make run``), then the worker's flow and sender tasks run as time passes
(2 h, 1 day, 3 days and 1 week later). Prints one JSON object: cart reminders sent, how many went to a
customer whose checkout had already become an order (or who had ordered since the checkout), and how
many checkouts got the same reminder from two flows.
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
    from django.db.models import Count
    from django.utils import timezone

    from campaigns.flows.engine import advance_due_enrollments
    from campaigns.models import EmailTemplate, Flow, FlowStep, Message
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

    cart_flows = list(Flow.objects.filter(store=store, trigger_event_type__in=["checkout.started", "cart.updated"]))
    sent = list(Message.objects.filter(flow__in=cart_flows, state=Message.State.SENT)
                .select_related("trigger_event").order_by("id"))
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

    first = [m for m in sent if m.step.position == min(s.position for s in m.flow.steps.all()
                                                       if s.kind == "send_email")]
    per_checkout: dict[tuple, set[int]] = {}
    for m in first:
        key = (m.customer_id, str((m.trigger_event.properties or {}).get("checkout_id")))
        per_checkout.setdefault(key, set()).add(m.flow_id)
    skipped = dict(Message.objects.filter(flow__in=cart_flows, state=Message.State.SKIPPED).values("skip_reason")
                   .annotate(n=Count("id")).values_list("skip_reason", "n"))
    print(json.dumps({
        "cart_emails_sent": len(sent),
        "first_reminders_sent": {f.name: sum(1 for m in first if m.flow_id == f.pk) for f in cart_flows},
        "sent_to_customers_who_had_ordered": sum(1 for m in sent if ordered(m)),
        "checkouts_reminded_by_two_flows": sum(1 for flows in per_checkout.values() if len(flows) > 1),
        "skipped": skipped,
    }, indent=1))


if __name__ == "__main__":
    main()
