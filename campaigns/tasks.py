"""Tasks (django-q2) and the signal handlers that enqueue them. Tasks take ids.

- ``on_events_recorded``: new events -> ``process_new_events`` (exit goals first, then wake waiting
  enrollments, then enrol on event triggers, then advance).
- ``segment_entered`` / ``segment_exited`` -> ``enrol_segment``.
- Scheduled (created by migration 0002): ``advance_flows`` and ``send_messages`` every minute (the latter
  also runs the campaign upkeep: scheduled starts, A/B decisions, finished campaigns), ``enrol_dates`` daily.
- ``launch_campaign``: the admin's and the API's launch, as a task.
"""

from __future__ import annotations

from django.utils import timezone
from django_q.tasks import async_task

from .flows.engine import advance_due_enrollments
from .flows.triggers import apply_exit_goals, enrol_date_triggers, enrol_from_events, enrol_from_segment, wake_waiting
from .sender import send_due_messages


def process_new_events(store_id: int, event_ids: list[int]) -> dict[str, int]:
    exited = apply_exit_goals(store_id, event_ids)
    woken = wake_waiting(store_id, event_ids)
    entered = enrol_from_events(store_id, event_ids)
    advanced = advance_due_enrollments() if (entered or woken) else 0
    return {"exited": exited, "woken": woken, "entered": entered, "advanced": advanced}


def enrol_segment(store_id: int, segment_id: int, customer_ids: list[int], entered: bool) -> int:
    count = enrol_from_segment(store_id, segment_id, customer_ids, entered)
    if count:
        advance_due_enrollments()
    return count


def advance_flows() -> int:
    return advance_due_enrollments()


def send_messages() -> dict[str, int]:
    """Campaign upkeep (start scheduled, decide A/B tests, queue winners), send, then mark finished ones sent."""
    from .campaign.run import finish_sent, run_campaigns

    upkeep = run_campaigns()
    sent = send_due_messages()
    finish_sent(timezone.now())
    return {**sent, **{f"campaigns_{k}": v for k, v in upkeep.items()}}


def launch_campaign(campaign_id: int) -> dict[str, int]:
    from .campaign.launch import launch

    return launch(campaign_id)


def enrol_dates() -> int:
    count = enrol_date_triggers()
    if count:
        advance_due_enrollments()
    return count


def on_events_recorded(sender, store, result, **kwargs) -> None:
    if not result.event_ids:
        return
    from .models import Flow

    if not Flow.objects.filter(store=store).exists():
        return
    ids = list(result.event_ids)
    # events_recorded is sent when no worker can see the task before the events (record_events).
    async_task("campaigns.tasks.process_new_events", store.pk, ids)


def _on_segment(entered: bool):
    def handler(sender, segment, customer_ids, **kwargs) -> None:
        from .models import Flow

        trigger = Flow.Trigger.SEGMENT_ENTERED if entered else Flow.Trigger.SEGMENT_EXITED
        listening = Flow.objects.filter(
            store_id=segment.store_id, enabled=True, trigger=trigger, trigger_segment_id=segment.pk
        )
        # A segment's first build can hold most of the store: no task (and no pickled id list) unless a
        # flow starts from it.
        if customer_ids and listening.exists():
            async_task("campaigns.tasks.enrol_segment", segment.store_id, segment.pk, list(customer_ids), entered)
    return handler


on_segment_entered = _on_segment(True)
on_segment_exited = _on_segment(False)


def connect() -> None:
    from segments.signals import segment_entered, segment_exited
    from shopconnect.timeline.record import events_recorded

    events_recorded.connect(on_events_recorded, dispatch_uid="campaigns.on_events_recorded")
    segment_entered.connect(on_segment_entered, dispatch_uid="campaigns.on_segment_entered")
    segment_exited.connect(on_segment_exited, dispatch_uid="campaigns.on_segment_exited")


