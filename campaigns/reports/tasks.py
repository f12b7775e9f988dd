"""Keep the report tables current as events arrive.

``on_events_recorded`` (subscribed to the timeline's ``events_recorded``) enqueues
``process_report_events`` when a batch holds ``email.*`` events, or ``order.*`` events of a store that has
sent email (there is nothing to credit otherwise); the task folds email
events into ``MessageOutcome``, re-credits orders that a late-arriving open or click precedes, credits
placed orders and nets out refunds and cancellations. Each step
is idempotent, so a task that runs twice (or a redelivered batch) changes nothing.
"""

from __future__ import annotations

from django_q.tasks import async_task

from shopconnect.timeline import vocabulary as v

from .attribution import attribute_orders, net_out, reattribute_after_touches
from .outcomes import EMAIL_TYPES, record_outcomes

ORDER_TYPES = frozenset({v.ORDER_PLACED, v.ORDER_REFUNDED, v.ORDER_CANCELLED})
EMAIL_TYPES_SET = frozenset(EMAIL_TYPES)
RELEVANT = ORDER_TYPES | EMAIL_TYPES_SET


def process_report_events(store_id: int, event_ids: list[int]) -> dict[str, int]:
    return {
        "outcomes": record_outcomes(store_id, event_ids),
        "reattributed": reattribute_after_touches(store_id, event_ids),
        "attributed": attribute_orders(store_id, event_ids),
        "netted": net_out(store_id, event_ids),
    }


def on_events_recorded(sender, store, result, **kwargs) -> None:
    if not result.event_ids:
        return
    types = set().union(*result.types_by_customer.values()) if result.types_by_customer else set()
    if not types & RELEVANT:
        return
    if not types & EMAIL_TYPES_SET:
        from campaigns.models import Message

        # Orders alone are credited to emails sent before them: a store that never sent one has nothing
        # to credit or net out, so no task (a first import, a store not mailing yet).
        if not Message.objects.filter(store=store, state=Message.State.SENT).exists():
            return
    async_task("campaigns.reports.tasks.process_report_events", store.pk, list(result.event_ids))


def connect() -> None:
    from shopconnect.timeline.record import events_recorded

    events_recorded.connect(on_events_recorded, dispatch_uid="campaigns.reports.on_events_recorded")
