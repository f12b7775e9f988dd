"""Editing a flow: the one validator (``validate_flow``) and saving its steps in place (``save_steps``).

Both the admin's flow canvas and the REST API call these, so a flow is checked the same way whichever
screen or client changed it. A step is a dict of ``FlowStep`` fields (``position``, ``kind``, ``name``,
``template`` (an ``EmailTemplate`` or its id), ``message_class``, ``config``) with an optional ``id``: the
step it edits. Steps keep their rows when edited or moved, so their messages, decisions and per-step
reports stay theirs (``Message.step`` is never nulled by an edit); only steps left out are deleted, and
not while customers wait at them. Customers waiting at a step that moved follow it to its new position.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, Count, IntegerField, Value, When

from ..models import EmailTemplate, Enrollment, Flow, FlowStep, MessageClass

TARGET_KEYS = ("next", "yes", "no", "on_event", "on_timeout")
STEP_FIELDS = ("position", "kind", "name", "template", "message_class", "config")


@dataclass
class FlowErrors(Exception):
    """What is wrong: ``fields`` (the flow's own fields) and ``steps`` (by index in the list given)."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    steps: dict[int, list[str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.fields or self.steps)

    def step(self, index: int, why: str) -> None:
        self.steps.setdefault(index, []).append(why)

    def as_dict(self) -> dict:
        """For API answers: ``{"trigger_event_type": [...], "steps": {"2": ["..."]}}``."""
        out: dict = dict(self.fields)
        if self.steps:
            out["steps"] = {str(i): whys for i, whys in sorted(self.steps.items())}
        return out


def _messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [f"{name}: {m}" if name not in ("config", "__all__", "template") else m
                for name, errors in exc.message_dict.items() for m in errors]
    return list(exc.messages)


def _targets(config: dict) -> list[tuple[str, object]]:
    out = [(k, config[k]) for k in TARGET_KEYS if k in config]
    for variant in config.get("variants") or []:
        if isinstance(variant, dict) and "next" in variant:
            out.append((f"variant {variant.get('label')}", variant["next"]))
    return out


def _template_id(value) -> int | None:
    return value.pk if isinstance(value, EmailTemplate) else value


def validate_flow(flow: Flow, steps: list[dict] | None) -> None:
    """Raise ``FlowErrors`` saying what is wrong with ``flow`` (unsaved changes included) and, when given,
    the steps it would have. ``None`` checks the flow's fields only (its steps stay as they are)."""
    errors = FlowErrors()
    try:
        flow.clean()
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for name, whys in exc.message_dict.items():
                errors.fields.setdefault(name, []).extend(whys)
        else:
            errors.fields.setdefault("__all__", []).extend(exc.messages)
    if steps is None:
        if errors:
            raise errors
        return
    positions: dict[int, int] = {}
    for i, spec in enumerate(steps):
        position = spec.get("position")
        if not isinstance(position, int) or position < 0:
            errors.step(i, "the step has no place in the flow")
        elif position in positions:
            errors.step(i, "two steps are at the same place in the flow")
        else:
            positions[position] = i
    templates = {_template_id(s.get("template")) for s in steps} - {None}
    own = set(EmailTemplate.objects.filter(pk__in=templates, store_id=flow.store_id).values_list("pk", flat=True)
              ) if templates and flow.store_id else set()
    ids = {s["id"] for s in steps if s.get("id")}
    mine = set(FlowStep.objects.filter(flow_id=flow.pk, pk__in=ids).values_list("pk", flat=True)) if flow.pk else set()
    seen: set[int] = set()
    for i, spec in enumerate(steps):
        if spec.get("id") and spec["id"] not in mine:
            errors.step(i, f"no step with id {spec['id']} in this flow")
        elif spec.get("id") and spec["id"] in seen:
            errors.step(i, f"step {spec['id']} is given twice")
        seen.add(spec.get("id"))
        template = _template_id(spec.get("template"))
        if template is not None and template not in own:
            errors.step(i, f"no email template with id {template}")  # another store's looks like a missing one
            continue
        step = FlowStep(flow=flow, **{k: spec[k] for k in ("kind", "name", "config", "message_class") if k in spec},
                        template_id=template, position=spec.get("position") or 0)
        if spec.get("message_class") and spec["message_class"] not in MessageClass.values:
            errors.step(i, f"unknown email class {spec['message_class']!r}")
        try:
            step.clean()
        except ValidationError as exc:
            for why in _messages(exc):
                errors.step(i, why)
            continue
        for name, target in _targets(step.config or {}):
            if target is not None and target not in positions:
                errors.step(i, f"{name}: there is no step at place {target}")
    if flow.pk:
        waiting = dict(Enrollment.objects.filter(flow_id=flow.pk, status=Enrollment.Status.ACTIVE)
                       .exclude(position__in=list(_kept_positions(flow, steps)))
                       .values("position").annotate(n=Count("id")).values_list("position", "n"))
        for step in FlowStep.objects.filter(flow_id=flow.pk, position__in=list(waiting)).exclude(pk__in=ids):
            errors.fields.setdefault("steps", []).append(
                f"{waiting[step.position]} customer(s) are waiting at step “{step.name or step.get_kind_display()}”: "
                "it cannot be removed while they are there.")
    if errors:
        raise errors


def _kept_positions(flow: Flow, steps: list[dict]) -> set[int]:
    """Positions (today's) of the steps this edit keeps."""
    ids = {s["id"] for s in steps if s.get("id")}
    return set(FlowStep.objects.filter(flow_id=flow.pk, pk__in=ids).values_list("position", flat=True))


@transaction.atomic
def save_steps(flow: Flow, steps: list[dict]) -> list[FlowStep]:
    """Make ``flow``'s steps exactly ``steps`` (already validated): edited in place by ``id``, new ones
    created, the rest deleted; active enrollments follow their step to its new position."""
    existing = {s.pk: s for s in FlowStep.objects.select_for_update().filter(flow=flow)}
    kept = {s["id"] for s in steps if s.get("id") in existing}
    FlowStep.objects.filter(flow=flow).exclude(pk__in=kept).delete()
    moves = {existing[s["id"]].position: s["position"] for s in steps
             if s.get("id") in existing and existing[s["id"]].position != s["position"]}
    if moves:
        # (flow, position) is unique: park the moving steps out of the way, then put them in place.
        top = max([s.position for s in existing.values()] + [s["position"] for s in steps]) + 1
        FlowStep.objects.filter(flow=flow, pk__in=kept).update(
            position=Case(*[When(pk=pk, then=Value(top + i)) for i, pk in enumerate(sorted(kept))],
                          output_field=IntegerField()))
        Enrollment.objects.filter(flow=flow, status=Enrollment.Status.ACTIVE, position__in=list(moves)).update(
            position=Case(*[When(position=old, then=Value(new)) for old, new in moves.items()],
                          output_field=IntegerField()))
    saved = []
    for spec in steps:
        values = {k: spec[k] for k in STEP_FIELDS if k in spec}
        if "template" in values and not isinstance(values["template"], EmailTemplate):
            values["template_id"] = values.pop("template")
        step = existing[spec["id"]] if spec.get("id") in existing else FlowStep(flow=flow)
        for name, value in values.items():
            setattr(step, name, value)
        if step.kind != FlowStep.Kind.SEND_EMAIL:
            step.template_id = None
        step.save()
        saved.append(step)
    return saved
