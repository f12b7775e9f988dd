"""``RuleBuilderWidget``: the rule language as rows of dropdowns, for any form field that stores a rule.

A form widget in the plain Django sense: it renders the stored value (the rule's JSON, kept in a
``<textarea>`` that is the field's real input and is shown under "Advanced: edit as JSON"), the builder
writes every change back into that textarea, so the form posts the stored format and the same
server-side validation (``segments.rules.parse``) runs on save. The browser never validates: errors come
back from the server with a path, and the builder marks the row they point at.

The builder's options come from the vocabulary endpoint (``segments.rules.publish``), so it offers only
what the parser accepts.

Use::

    class SegmentForm(forms.ModelForm):
        class Meta:
            widgets = {"definition": RuleBuilderWidget(preview=True)}

    # only property conditions on one event (a flow trigger's filters): the value is a list
    # [{"property": ..., "op": ..., "value": ...}], validated with segments.rules.parse_where
    RuleBuilderWidget(mode="where", event="checkout.started")

    # only some condition kinds (a condition split that looks at behaviour and attributes)
    RuleBuilderWidget(kinds=["performed", "not_performed", "attribute", "group"])

Options: ``mode`` ("rule", the default: a whole rule tree; or "where": a list of property filters),
``event`` (the event whose properties "where" mode offers; or set ``data-event`` on the element from your
own JS with ``builder.setEvent(name)``), ``kinds`` (the condition kinds offered, from
``publish.KINDS``), ``events`` (restrict the event list), ``preview`` (show count, sample and the rule in
words as it changes, from the segment preview endpoint; needs the form's store select, ``store_field``).

In JavaScript (``segments/rule-builder.js``, no dependencies): ``RuleBuilder.mount(element, options)``
returns a builder with ``getValue()``, ``setValue(json)``, ``showError(path, why)``, ``clearErrors()``,
``setStore(id)``, ``setEvent(name)``; it dispatches ``rulechange`` (``event.detail.value``) on the element.
Widgets on a page are mounted by themselves (``RuleBuilder.mountAll()`` runs on load).
"""

from __future__ import annotations

import json

from django import forms
from django.urls import reverse

MODES = ("rule", "where")


class RuleBuilderWidget(forms.Widget):
    template_name = "segments/widgets/rule_builder.html"

    class Media:
        css = {"all": ["segments/rule-builder.css"]}
        js = ["segments/rule-builder.js"]

    def __init__(
        self,
        attrs=None,
        *,
        mode: str = "rule",
        event: str | None = None,
        kinds: list[str] | None = None,
        events: list[str] | None = None,
        preview: bool = False,
        store_field: str = "store",
    ):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.mode, self.event, self.kinds, self.events = mode, event, kinds, events
        self.preview, self.store_field = preview and mode == "rule", store_field
        self.segment_id: int | None = None  # the segment being edited (its own id is no valid reference)
        super().__init__(attrs)

    def format_value(self, value):
        if value in (None, ""):
            return ""
        if isinstance(value, str):
            return value  # as typed (an invalid JSON text is shown back for correction)
        return json.dumps(value, indent=2, ensure_ascii=False)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        options = {
            "mode": self.mode,
            "event": self.event,
            "kinds": self.kinds,
            "events": self.events,
            "vocabularyUrl": reverse("admin:segments_segment_vocabulary"),
            "previewUrl": reverse("admin:segments_segment_preview") if self.preview else None,
            "storeField": f"id_{self.store_field}" if self.store_field else None,
            "segment": self.segment_id,
        }
        context["widget"]["options_json"] = json.dumps(options)
        context["widget"]["preview"] = self.preview
        return context

    def value_from_datadict(self, data, files, name):
        return data.get(name)
