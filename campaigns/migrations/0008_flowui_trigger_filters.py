"""Flow trigger filters are now rule-language property filters (``segments.rules.parse_where``). The
stored shape stays ``[{"property", "op", "value"}]``; what the old matcher also took is rewritten into
what the rule language accepts, with the same meaning:

- ``exists`` on a text property -> ``neq ""`` (present and not empty, as "exists" was);
- a number typed as text on a number property (``"100"``) -> the number;
- ``in`` with one value instead of a list -> a list of it.

Anything else the rule language refuses (``not_exists``, a dotted path, an unknown property) is left as
it was: such a flow lets nobody in (fail closed) and its page says what to fix on save.
"""

from __future__ import annotations

from django.db import migrations

NUMBER_OPS = ("eq", "neq", "gt", "gte", "lt", "lte")


def convert(event_type: str, item):
    from shopconnect.timeline import vocabulary as v

    if not isinstance(item, dict) or not isinstance(item.get("property"), str):
        return item
    prop = v.prop(event_type, item["property"]) if event_type else None
    if prop is None:
        return item
    op, value = item.get("op"), item.get("value")
    if prop.type == v.NUMBER:
        if op in NUMBER_OPS and isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                return item
            return {**item, "value": int(number) if number.is_integer() else number}
        return item
    if op == "exists":
        return {"property": item["property"], "op": "neq", "value": ""}
    if op == "in" and isinstance(value, str):
        return {**item, "value": [value]}
    return item


def forwards(apps, schema_editor):
    Flow = apps.get_model("campaigns", "Flow")
    for flow in Flow.objects.only("id", "trigger_event_type", "trigger_filters").iterator():
        filters = flow.trigger_filters
        if not isinstance(filters, list) or not filters:
            continue
        converted = [convert(flow.trigger_event_type, item) for item in filters]
        if converted != filters:
            Flow.objects.filter(pk=flow.pk).update(trigger_filters=converted)


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0007_provider_reference")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
