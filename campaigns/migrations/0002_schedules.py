"""The engine, sender and date triggers run on django-q2 schedules."""

from django.db import migrations

SCHEDULES = [
    ("campaigns: advance flows", "campaigns.tasks.advance_flows", "I", 1),
    ("campaigns: send messages", "campaigns.tasks.send_messages", "I", 1),
    ("campaigns: date triggers", "campaigns.tasks.enrol_dates", "D", None),
]


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, func, kind, minutes in SCHEDULES:
        Schedule.objects.get_or_create(name=name, defaults={"func": func, "schedule_type": kind,
                                                            "minutes": minutes, "repeats": -1})


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0001_initial"), ("django_q", "0018_task_success_index")]
    operations = [migrations.RunPython(create, remove)]
