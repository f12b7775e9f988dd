"""Segment preview timings on the demo store, per condition kind and per built-in template (run by hand).

    .venv/bin/python manage.py demo                       # once, on the database you want to measure
    .venv/bin/python bench/previews.py                    # SQLite (the default database)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/DB .venv/bin/python bench/previews.py

A preview is what the admin's builder asks for on every edit (``segments.service.preview``: parse, count,
a sample of ten, the plain-language rule and the warnings). Each is timed cold once and then best of
three; the target is under 1 s each on the 500-customer demo.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopconnect.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from integrations.demo import DEMO_DOMAIN  # noqa: E402
from segments.models import Segment  # noqa: E402
from segments.service import preview  # noqa: E402
from segments.templates import TEMPLATES  # noqa: E402
from shopconnect.timeline.models import Store  # noqa: E402

TARGET = 1.0


def _p(event, **kw):
    return {"type": "performed", "event": event, **kw}


def kinds(store: Store) -> dict[str, dict]:
    """One rule per condition kind the builder offers."""
    other = Segment.objects.filter(store=store).order_by("pk").first()
    last30 = {"last": {"days": 30}}
    rules = {
        "has done (any time)": _p("product.viewed"),
        "has not done": {"type": "not_performed", "event": "order.placed"},
        "count (3+ in 30 days)": _p("product.viewed", count={"op": "gte", "value": 3}, window=last30),
        "count between": _p("email.opened", count={"op": "between", "value": [1, 2]}, window=last30),
        "time frame: between N and M ago": _p(
            "checkout.started", window={"last": {"hours": 72}, "until": {"hours": 1}}
        ),
        "time frame: between dates": _p(
            "order.placed", window={"start": "2025-01-01", "end": "2027-01-01"}
        ),
        "time frame: since": _p("order.placed", window={"since": "2025-06-01"}),
        "time frame: this month last year": _p("order.placed", window={"same_month_last_year": True}),
        "property filter (string)": _p(
            "product.viewed", where=[{"property": "category", "op": "eq", "value": "Footwear"}]
        ),
        "property filter (number)": _p(
            "checkout.started", where=[{"property": "total", "op": "gte", "value": 200}]
        ),
        "property filter (contains)": _p(
            "product.viewed", where=[{"property": "title", "op": "contains", "value": "boot"}]
        ),
        "same product": _p("product.viewed", count={"op": "gte", "value": 3}, same="product_id"),
        "different products": _p("product.viewed", count={"op": "gte", "value": 3}, distinct="product_id"),
        "time of day": _p("product.viewed", hour_of_day={"from": 11, "to": 14}, window=last30),
        "time of day (past midnight)": _p("order.placed", hour_of_day={"from": 22, "to": 6}),
        "day of week (weekend)": _p("order.placed", day_of_week=[6, 7]),
        "not followed by": _p(
            "checkout.started", window={"last": {"days": 7}}, not_followed_by=[{"event": "order.placed"}]
        ),
        "not followed by, after a gap": _p(
            "cart.updated",
            window={"last": {"days": 7}},
            not_followed_by=[{"event": ["page.viewed", "product.viewed"], "after": {"minutes": 10}}],
        ),
        "attribute: number": {"type": "attribute", "field": "total_spent", "op": "gte", "value": 100},
        "attribute: date relative": {
            "type": "attribute", "field": "last_order_at", "op": "more_than_ago", "value": {"days": 90},
        },
        "attribute: date absolute": {
            "type": "attribute", "field": "created_at", "op": "after", "value": "2025-01-01",
        },
        "attribute: choice": {"type": "attribute", "field": "consent", "op": "eq", "value": "subscribed"},
        "attribute: string": {"type": "attribute", "field": "country", "op": "in", "value": ["US", "CA"]},
        "attribute: tags": {"type": "attribute", "field": "tags", "op": "has", "value": "vip"},
        "percentile": {"type": "percentile", "field": "total_spent", "direction": "top", "percent": 20},
        "prediction: churn band": {"type": "prediction", "field": "churn_band", "op": "eq", "value": "high"},
        "prediction: next order within": {
            "type": "prediction", "field": "expected_next_order_at", "op": "within_next", "value": {"days": 30},
        },
        "prediction: RFM group": {"type": "prediction", "field": "rfm_group", "op": "eq", "value": "champions"},
        "prediction: predicted CLV": {"type": "prediction", "field": "predicted_clv", "op": "gte", "value": 200},
    }
    if other is not None:
        rules[f"in segment ({other.name})"] = {"type": "in_segment", "segment": other.pk}
    return {name: {"version": 1, **rule} for name, rule in rules.items()}


def timed(store, definition) -> tuple[float, float, int]:
    started = time.perf_counter()
    result = preview(store, definition)
    cold = time.perf_counter() - started
    warm = []
    for _ in range(3):
        started = time.perf_counter()
        preview(store, definition)
        warm.append(time.perf_counter() - started)
    return cold, min(warm), result.count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--domain", default=DEMO_DOMAIN, help="the store to preview on (default: the demo)")
    args = parser.parse_args()
    store = Store.objects.filter(domain=args.domain).first()
    if store is None:
        sys.exit("no demo store: run `manage.py demo` on this database first")
    customers = store.customers.count()
    print(f"previews on {connection.vendor}, store {store} ({customers} customers, "
          f"{store.events.count()} events); cold / best of 3, seconds")
    worst = 0.0
    for title, rules in (
        ("condition kinds", kinds(store)),
        ("built-in templates", {t.name: t.definition for t in TEMPLATES}),
    ):
        print(f"\n== {title} ==")
        for name, definition in rules.items():
            cold, warm, count = timed(store, definition)
            worst = max(worst, cold)
            flag = "" if cold < TARGET else "  OVER 1 s"
            print(f"  {name:42s} {cold:6.3f} {warm:6.3f}  {count:>5} match{flag}")
    print(f"\nslowest cold preview: {worst:.3f}s (target < {TARGET:.0f} s)")


if __name__ == "__main__":
    main()
