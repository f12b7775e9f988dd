"""Scheduling: the daily schedule exists, the tasks refit, the command prints what it did."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_q.models import Schedule

from segments.predictions.models import CustomerPrediction, PredictionRun
from segments.predictions.tasks import SCHEDULE_NAME, refit_all_stores, refit_store_predictions

from .helpers import record_orders

pytestmark = pytest.mark.django_db


def test_a_daily_schedule_refits_all_stores():
    schedule = Schedule.objects.get(name=SCHEDULE_NAME)
    assert schedule.func == "segments.predictions.tasks.refit_all_stores"
    assert schedule.schedule_type == Schedule.DAILY and schedule.repeats == -1


def test_refit_all_stores_refits_each_active_store(make_store):
    active, uninstalled = make_store(), make_store(status="uninstalled")
    for s in (active, uninstalled):
        record_orders(s, {f"a{s.pk}@example.com": [(0, 10), (20, 10)]})
    assert refit_all_stores() == 1  # django-q2 runs the enqueued task inline in tests
    assert PredictionRun.objects.filter(store=active).count() == 1
    assert not CustomerPrediction.objects.filter(store=uninstalled).exists()


def test_refit_store_predictions_task(store):
    record_orders(store, {"a@example.com": [(0, 10)]})
    assert refit_store_predictions(store.id) == {
        "store": store.id,
        "method": "heuristic",
        "customers": 1,
        "seconds": pytest.approx(0, abs=5),
    }


def test_predict_command(store):
    record_orders(store, {"a@example.com": [(0, 10), (5, 10)]})
    out = StringIO()
    call_command("predict", "--store", str(store.id), stdout=out)
    line = json.loads(out.getvalue())
    assert line["store"] == store.id and line["method"] == "heuristic" and line["customers"] == 1
    with pytest.raises(CommandError, match="no store with id 999999"):
        call_command("predict", "--store", "999999")
