"""Step configuration: what each step kind accepts, and the small pure helpers the engine uses.

==================  ===============================================================================
kind                config
==================  ===============================================================================
delay               ``{"hours": 1}`` (also ``minutes``/``days``), or ``{"until_hour": 10}``: the next
                    10:00 in the customer's time zone (optionally after the duration)
send_email          the step's ``template`` and email class (``FlowStep.message_class``);
                    ``{"discount_code": "...", "skip_smart_sending": true, "purpose": "reminder-1"}``
                    (``purpose``: what the email is for, for the one-message-per-intent key; default:
                    the flow's family and the email's rank, see ``campaigns.flows.intent``)
condition           ``{"rule": <segment rule tree>, "yes": position, "no": position}``: evaluated on the
                    customer now (``segments.evaluate.customer_matches``)
ab_split            ``{"variants": [{"label": "A", "weight": 50, "next": position}, ...]}``; sticky per
                    customer (a hash of flow, step and customer); optional ``"metric"`` (open_rate,
                    click_rate, order_rate (default), revenue_per_recipient) for the admin's win probability;
                    optional ``"test_days": 14`` (then everyone gets the winner, or without evidence the
                    ``"default"`` label, else the first), ``"win_probability": 0.9``, ``"min_sample"``
wait_for_event      ``{"event_types": ["order.placed"], "timeout_hours": 72, "on_event": position,
                    "on_timeout": position}``
update_customer     ``{"add_tags": [...], "remove_tags": [...], "suppress": "reason"}``
exit                ``{"reason": "..."}``
==================  ===============================================================================

Every step may set ``"next"`` (a position); by default the next step is the following position.
A target of ``null`` ends the flow (completed).
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError

from shopconnect.timeline.vocabulary import is_valid_type

DURATION_KEYS = ("days", "hours", "minutes")
PURPOSE = re.compile(r"[a-z0-9][a-z0-9_-]{0,59}")


def duration(config: dict) -> timedelta:
    return timedelta(**{k: float(config.get(k) or 0) for k in DURATION_KEYS})


def delay_until(config: dict, now: datetime, zone) -> datetime:
    """When a delay step started at ``now`` ends."""
    when = now + duration(config)
    hour = config.get("until_hour")
    if hour is not None:
        local = when.astimezone(zone)
        target = local.replace(hour=int(hour), minute=0, second=0, microsecond=0)
        if target < local:
            target += timedelta(days=1)
        when = target.astimezone(now.tzinfo)
    return when


def pick_variant(variants: list[dict], flow_id: int, step_id: int, customer_id: int) -> dict:
    """A stable choice: the same customer always lands in the same variant of this step."""
    total = sum(max(int(v.get("weight", 0)), 0) for v in variants) or 1
    digest = hashlib.sha256(f"{flow_id}:{step_id}:{customer_id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") % total
    for variant in variants:
        point -= max(int(variant.get("weight", 0)), 0)
        if point < 0:
            return variant
    return variants[-1]


def _position(value, name: str) -> None:
    if value is not None and (not isinstance(value, int) or value < 0):
        raise ValidationError({"config": f"{name} must be a step position (a number) or null"})


def validate_step(step) -> None:
    config = step.config or {}
    if not isinstance(config, dict):
        raise ValidationError({"config": "must be a JSON object"})
    _position(config.get("next"), "next")
    kind = step.kind
    if kind == "delay":
        try:
            if duration(config) < timedelta(0):
                raise ValidationError({"config": "a delay cannot be negative"})
        except (TypeError, ValueError) as exc:
            raise ValidationError({"config": "days/hours/minutes must be numbers"}) from exc
        hour = config.get("until_hour")
        if hour is not None and not (isinstance(hour, int) and 0 <= hour <= 23):
            raise ValidationError({"config": "until_hour is an hour from 0 to 23"})
        if not config.get("until_hour") and duration(config) == timedelta(0) and hour is None:
            raise ValidationError({"config": "wait some time (days, hours or minutes) or until a time of day"})
    elif kind == "send_email":
        if step.template_id is None:
            raise ValidationError({"template": "choose the email this step sends (it has no template)"})
        purpose = config.get("purpose")
        if purpose is not None and not (isinstance(purpose, str) and PURPOSE.fullmatch(purpose)):
            raise ValidationError({"config": "purpose is a short name: lowercase letters, digits, - and _"})
    elif kind == "condition":
        if "rule" not in config:
            raise ValidationError({"config": "a condition needs a rule"})
        _position(config.get("yes"), "yes")
        _position(config.get("no"), "no")
        from segments.rules import validate

        validate(config["rule"], store=step.flow.store)
    elif kind == "ab_split":
        variants = config.get("variants")
        if not isinstance(variants, list) or len(variants) < 2:
            raise ValidationError({"config": "an A/B split needs at least two variants"})
        if config.get("metric", "order_rate") not in ("open_rate", "click_rate", "order_rate", "revenue_per_recipient"):
            raise ValidationError({"config": "metric is open_rate, click_rate, order_rate or revenue_per_recipient"})
        labels = [str(v.get("label")) for v in variants if isinstance(v, dict)]
        if "holdout" in labels:
            raise ValidationError({"config": "the label 'holdout' is reserved for the flow's holdout group"})
        for variant in variants:
            if not isinstance(variant, dict) or not variant.get("label") or int(variant.get("weight", 0)) < 0:
                raise ValidationError({"config": "each variant needs a label and a weight >= 0"})
            _position(variant.get("next"), "next")
        days = config.get("test_days")
        if days is not None and (not isinstance(days, (int, float)) or days <= 0):
            raise ValidationError({"config": "test_days must be a positive number of days"})
        if config.get("default") is not None and str(config["default"]) not in labels:
            raise ValidationError({"config": "default must be one of the variants' labels"})
        chance = config.get("win_probability")
        if chance is not None and not (isinstance(chance, (int, float)) and 0.5 <= chance < 1):
            raise ValidationError({"config": "win_probability is from 0.5 to just under 1"})
    elif kind == "wait_for_event":
        types = config.get("event_types")
        if not isinstance(types, list) or not types or not all(isinstance(t, str) and is_valid_type(t) for t in types):
            raise ValidationError({"config": "event_types must be a list of event types"})
        if not isinstance(config.get("timeout_hours"), (int, float)) or config["timeout_hours"] <= 0:
            raise ValidationError({"config": "timeout_hours must be a positive number"})
        _position(config.get("on_event"), "on_event")
        _position(config.get("on_timeout"), "on_timeout")
    elif kind == "update_customer":
        for key in ("add_tags", "remove_tags"):
            if not isinstance(config.get(key, []), list):
                raise ValidationError({"config": f"{key} must be a list"})
        if not (config.get("add_tags") or config.get("remove_tags") or config.get("suppress")):
            raise ValidationError({"config": "nothing to update"})
