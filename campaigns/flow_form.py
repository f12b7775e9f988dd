"""The flow change page's form: the flow's own fields in words (events by name, segments of the flow's
store by name, dates, re-entry and exit goal as sentences, a custom event typed by name) and ``canvas``,
the steps as the canvas's tree. ``_post_clean`` runs the one validator (``flows.editing.validate_flow``)
and keeps its step errors by card (``canvas_errors``) for the canvas to show."""

from __future__ import annotations

import json

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.forms.models import construct_instance

from segments.widgets import RuleBuilderWidget
from shopconnect.tenancy import visible_stores
from shopconnect.timeline import vocabulary

from .flows.canvas import TreeError, from_tree, to_tree
from .flows.editing import FlowErrors, validate_flow
from .models import Flow

GOAL_WORDS = [
    ("", "Keep going to the end of the flow"),
    (Flow.Goal.ORDER_FOR_TRIGGER, "Stop when the customer places an order for this checkout or cart"),
    (Flow.Goal.ANY_ORDER, "Stop when the customer places any order after entering"),
]
REENTRY_WORDS = [
    (Flow.Reentry.ONCE, "Only once ever"),
    (Flow.Reentry.PER_DAYS, "At most once every N days"),
    (Flow.Reentry.EVERY_TIME, "Every time the trigger happens"),
]
CARDS_MARKED = "Some steps need attention: see the cards marked in red."
CUSTOM = "custom"  # the event list's "a custom event…": its name is typed in ``custom_event``
DATE_PROPERTIES = [("first_order_at", "Anniversary of the first order"), ("birthday", "Birthday")]


def event_choices(current: str = "") -> list:
    groups: dict[str, list] = {}
    for e in vocabulary.EVENTS:
        groups.setdefault(e.group, []).append((e.name, e.label))
    custom = [(CUSTOM, "A custom event (posted through the API)…")]
    if current and current not in vocabulary.BY_NAME and current != CUSTOM:
        custom.insert(0, (current, vocabulary.label(current)))
    return [("", "— choose an event —"), *[(group.capitalize(), items) for group, items in groups.items()],
            ("Custom events", custom)]


class FlowForm(forms.ModelForm):
    """The flow's own fields in words, plus ``canvas``: the steps as the canvas's tree (JSON)."""

    canvas = forms.CharField(widget=forms.HiddenInput, required=False)
    custom_event = forms.CharField(
        required=False, max_length=58, label="Custom event name",
        help_text="As your app posts it to /api/v1/events/ (custom.<name>): lowercase letters, digits and _.")
    trigger_segment_id = forms.TypedChoiceField(label="Segment", required=False, coerce=int, empty_value=None)

    class Meta:
        model = Flow
        fields = ("name", "store", "trigger", "trigger_event_type", "trigger_filters", "trigger_segment_id",
                  "date_property", "reentry", "reentry_days", "exit_goal", "flow_filters", "holdout_percent",
                  "relevance_hours")
        labels = {"trigger": "Starts when", "trigger_event_type": "Event", "trigger_filters": "Only when",
                  "date_property": "Date", "reentry": "A customer may enter", "reentry_days": "N (days)",
                  "exit_goal": "Exit goal", "flow_filters": "Only customers who (checked on entry and before "
                                                            "every email)"}
        widgets = {
            "trigger_filters": RuleBuilderWidget(mode="where"),
            "flow_filters": RuleBuilderWidget(store_field="store"),
            "exit_goal": forms.RadioSelect(choices=GOAL_WORDS),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.canvas_errors: dict[str, list[str]] = {}
        self.specs: list[dict] | None = None
        flow = self.instance
        if "trigger_filters" in self.fields:  # editable (a viewer's form has the canvas field only)
            self._choices(flow)
        if not self.is_bound:
            self.initial["canvas"] = json.dumps(to_tree(flow.steps.all()) if flow.pk else {"steps": [],
                                                                                           "detached": []})

    def _choices(self, flow: Flow) -> None:
        """Every choice in words: events by their names, segments of the flow's store by name, dates."""
        current = self.data.get("trigger_event_type") if self.is_bound else flow.trigger_event_type
        self.fields["trigger_event_type"] = forms.ChoiceField(
            label="Event", required=False, choices=event_choices(current or ""))
        if current == CUSTOM:
            current = f"custom.{self.data.get('custom_event') or ''}"
        self.fields["trigger_filters"].widget.event = current if current and current != "custom." else None
        self.fields["trigger_filters"].required = False
        self.fields["trigger_filters"].help_text = "Leave empty to count every such event."
        self.fields["flow_filters"].help_text = ""
        self.fields["reentry"].choices = REENTRY_WORDS
        self.fields["exit_goal"].choices = GOAL_WORDS
        stores = visible_stores(self.tenancy_user) if self.tenancy_user is not None else []
        from segments.models import Segment

        segments = Segment.objects.filter(store__in=stores).select_related("store").order_by("store__name", "name")
        if flow.store_id:
            segments = segments.filter(store_id=flow.store_id)
        many = flow.store_id is None and len({s.store_id for s in segments}) > 1
        self.fields["trigger_segment_id"].choices = [("", "— choose a segment —")] + [
            (s.pk, f"{s.store.name}: {s.name}" if many else s.name) for s in segments]
        dates = list(DATE_PROPERTIES)
        if flow.date_property and flow.date_property not in dict(dates):
            dates.append((flow.date_property, flow.date_property.replace("_", " ")))
        self.fields["date_property"] = forms.ChoiceField(label="Date", required=False,
                                                         choices=[("", "— choose a date —"), *dates])

    def clean(self):
        data = super().clean()
        if data.get("trigger_event_type") == CUSTOM:
            name = (data.get("custom_event") or "").strip()
            if not vocabulary.CUSTOM_TYPE.fullmatch(f"custom.{name}"):
                self.add_error("custom_event", "Give the custom event's name: lowercase letters, digits and _ "
                                               "(for example sms_reply).")
            else:
                data["trigger_event_type"] = f"custom.{name}"
        return data

    def clean_flow_filters(self):
        """An empty builder means no filter (not a rule that matches nobody)."""
        value = self.cleaned_data.get("flow_filters")
        if isinstance(value, dict) and value.get("type") in ("and", "or") and not value.get("rules"):
            return None
        return value

    def clean_canvas(self):
        raw = self.cleaned_data.get("canvas") or ""
        if not raw:
            return None  # no canvas posted (a script without JS): the steps stay as they are
        try:
            tree = json.loads(raw)
            self.specs, self.keys = from_tree(tree)
        except (ValueError, TreeError) as exc:
            key = getattr(exc, "key", "")
            if key:
                self.canvas_errors[key] = [str(exc)]
            raise ValidationError(f"The steps could not be read: {exc}") from exc
        return raw

    def _post_clean(self):
        """The one validator (``validate_flow``) checks the flow and its steps together; its errors go to
        the fields and to the cards they are about."""
        opts = self._meta
        try:
            self.instance = construct_instance(self, self.instance, opts.fields, opts.exclude)
        except ValidationError as exc:
            self._update_errors(exc)
            return
        if self.errors:
            return
        try:
            validate_flow(self.instance, self.specs)
        except FlowErrors as exc:
            for name, whys in exc.fields.items():
                target = name if name in self.fields else None
                for why in whys:
                    self.add_error(target, why)
            for index, whys in exc.steps.items():
                self.canvas_errors.setdefault(self.keys[index], []).extend(whys)
            if exc.steps:
                self.add_error(None, CARDS_MARKED)


def _filters_in_words(flow: Flow) -> str:
    """" where checkout total is more than 50", in the rule language's own words (segments.describe)."""
    if not flow.trigger_filters:
        return ""
    from segments.describe import describe
    from segments.rules import Performed, RuleError, parse_where

    try:
        filters = parse_where(flow.trigger_filters, flow.trigger_event_type)
    except RuleError:
        return " (its property conditions need fixing)"
    text = describe(Performed(events=(flow.trigger_event_type,), filters=filters))
    return " where " + text.split(" where ", 1)[1] if " where " in text else ""


def describe_trigger(flow: Flow) -> str:
    """How customers enter, in words: on “Started checkout” where ..., when they enter the segment “X”."""
    if flow.trigger == Flow.Trigger.EVENT:
        return f"on “{vocabulary.label(flow.trigger_event_type)}”{_filters_in_words(flow)}"
    if flow.trigger in (Flow.Trigger.SEGMENT_ENTERED, Flow.Trigger.SEGMENT_EXITED):
        from segments.models import Segment

        name = Segment.objects.filter(pk=flow.trigger_segment_id, store_id=flow.store_id).values_list(
            "name", flat=True).first() or "a segment"
        verb = "enter" if flow.trigger == Flow.Trigger.SEGMENT_ENTERED else "leave"
        return f"when they {verb} the segment “{name}”"
    return f"on their {dict(DATE_PROPERTIES).get(flow.date_property, flow.date_property).lower()}"


def overlapping(flow: Flow) -> QuerySet[Flow]:
    """The store's other enabled flows that start on the same trigger (so a customer may get both)."""
    same = Flow.objects.filter(store_id=flow.store_id, enabled=True, trigger=flow.trigger).exclude(pk=flow.pk)
    if flow.trigger == Flow.Trigger.EVENT:
        same = same.filter(trigger_event_type=flow.trigger_event_type)
    elif flow.trigger == Flow.Trigger.DATE_PROPERTY:
        same = same.filter(date_property=flow.date_property)
    else:
        same = same.filter(trigger_segment_id=flow.trigger_segment_id)
    return same.annotate(n_active=Count("enrollments", filter=Q(enrollments__status="active")))
