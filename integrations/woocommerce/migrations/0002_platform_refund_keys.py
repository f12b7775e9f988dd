"""Refund events take the one refund key of every platform, ``woocommerce:refund:<refund id>`` (it was
``woocommerce:order:<order id>:refund:<refund id>``), so a replay after the upgrade is still a duplicate."""

from django.db import migrations
from django.db.models import F, Value
from django.db.models.functions import Concat, StrIndex, Substr


def forwards(apps, schema_editor):
    Event = apps.get_model("timeline", "Event")
    old = Event.objects.filter(source="woocommerce", type="order.refunded",
                               dedupe_key__regex=r"^woocommerce:order:[^:]+:refund:")
    # one UPDATE: "woocommerce:order:<order>:refund:<refund>" -> "woocommerce:refund:<refund>"
    old.update(dedupe_key=Concat(Value("woocommerce:refund:"),
                                 Substr("dedupe_key", StrIndex("dedupe_key", Value(":refund:")) + 8)))


def backwards(apps, schema_editor):
    Event = apps.get_model("timeline", "Event")
    new = Event.objects.filter(source="woocommerce", type="order.refunded", dedupe_key__startswith="woocommerce:refund:")
    new.update(dedupe_key=Concat(Value("woocommerce:order:"), F("order_ref"), Value(":refund:"),
                                 Substr("dedupe_key", len("woocommerce:refund:") + 1)))


class Migration(migrations.Migration):
    dependencies = [("woocommerce", "0001_initial"), ("timeline", "0002_partial_event_indexes")]
    operations = [migrations.RunPython(forwards, backwards)]
