"""The relevance window: how old a triggering event may be and still enrol.

An event is recorded late when history is loaded (the demo, a backfill, a reconciliation) or a webhook
comes days after the fact. A flow reacting to it would mail about the past ("you left something in your
cart" a week after the visit), so a trigger older than the flow's window does not enrol, and the
enrollment list says "trigger too old". The window is ``Flow.relevance_hours`` when the marketer set it
(raising it is how to ask for mail about older events), else the default:

- abandonment triggers (checkout, cart, product/collection views, searches): the time the flow waits
  before its first email plus ``ABANDONMENT_MARGIN`` (4 h): the prebuilt abandoned cart flow (1 h) has 5 h,
  browse abandonment (2 h) 6 h;
- every other event trigger (welcome on ``consent.changed``, post-purchase on ``order.placed``...): that
  wait plus ``OTHER_MARGIN`` (24 h): a welcome flow has a day; a win-back that waits 90 days for a next
  order has 91 days.

Segment and date triggers happen "now" and have no window. Triggers older than the window by more than
``LOG_HORIZON`` (a backfill of years) are skipped without a log row each, so loading history stays cheap.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from ..models import Flow, FlowStep
from .steps import duration

ABANDONMENT = frozenset({"checkout.started", "checkout.updated", "cart.updated", "product.viewed",
                         "collection.viewed", "search.submitted"})
ABANDONMENT_MARGIN = timedelta(hours=4)
OTHER_MARGIN = timedelta(hours=24)
LOG_HORIZON = timedelta(days=7)


def wait_before_first_email(steps: Iterable[FlowStep]) -> timedelta:
    """The longest the flow waits from entry to its first email along its steps in order (a delay "until
    10:00" counts as up to a day; a wait for an event as its timeout)."""
    total = timedelta(0)
    for step in sorted(steps, key=lambda s: s.position):
        config = step.config or {}
        if step.kind == FlowStep.Kind.SEND_EMAIL:
            break
        if step.kind == FlowStep.Kind.DELAY:
            total += duration(config) + (timedelta(hours=24) if config.get("until_hour") is not None else timedelta(0))
        elif step.kind == FlowStep.Kind.WAIT_FOR_EVENT:
            total += timedelta(hours=float(config.get("timeout_hours") or 0))
    return total


def default_window(flow: Flow, steps: Iterable[FlowStep]) -> timedelta:
    margin = ABANDONMENT_MARGIN if flow.trigger_event_type in ABANDONMENT else OTHER_MARGIN
    return wait_before_first_email(steps) + margin


def window(flow: Flow, steps: Iterable[FlowStep] | None = None) -> timedelta | None:
    """The flow's relevance window; None for triggers that are not events."""
    if flow.trigger != Flow.Trigger.EVENT:
        return None
    if flow.relevance_hours is not None:
        return timedelta(hours=flow.relevance_hours)
    return default_window(flow, flow.steps.all() if steps is None else steps)


def span(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours < 72:
        return f"{hours:.0f} h" if hours >= 1 else f"{delta.total_seconds() / 60:.0f} min"
    return f"{hours / 24:.0f} days"


def too_old(event_type: str, occurred_at: datetime, now: datetime, limit: timedelta) -> str:
    """The decision-log reason when a trigger is past the window, else ""."""
    age = now - occurred_at
    if age <= limit:
        return ""
    return (f"trigger too old: {event_type} at {occurred_at:%Y-%m-%d %H:%M} UTC, {span(age)} ago "
            f"(relevance window {span(limit)})")


def describe(flow: Flow) -> str:
    """For the flow's page: the window in effect and where it comes from."""
    limit = window(flow)
    if limit is None:
        return "Not used: segment and date triggers happen now."
    if flow.relevance_hours is not None:
        return f"{span(limit)} (set on this flow)."
    steps = list(flow.steps.all())
    margin = ABANDONMENT_MARGIN if flow.trigger_event_type in ABANDONMENT else OTHER_MARGIN
    return (f"{span(limit)} (default: {span(wait_before_first_email(steps))} before the first email "
            f"+ {span(margin)}).")
