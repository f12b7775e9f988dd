"""``python manage.py rebuild_attribution STORE_ID [--since YYYY-MM-DD] [--until YYYY-MM-DD]``

Recomputes message outcomes and order attribution for a store's date range from the timeline (after
changing the attribution windows, or to pick up engagement events that arrived after their order).
Prints one JSON line with the counts.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from campaigns.reports.attribution import rebuild_attribution
from campaigns.reports.outcomes import rebuild_outcomes
from shopconnect.timeline.models import Store


def _day(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD)") from exc


class Command(BaseCommand):
    help = "Recompute message outcomes and order attribution for a store and a date range."

    def add_arguments(self, parser):
        parser.add_argument("store_id", type=int)
        parser.add_argument("--since", help="first day (YYYY-MM-DD, UTC), inclusive")
        parser.add_argument("--until", help="last day (YYYY-MM-DD, UTC), exclusive")

    def handle(self, store_id: int, since=None, until=None, **options):
        store = Store.objects.filter(pk=store_id).first()
        if store is None:
            raise CommandError(f"no store with id {store_id}")
        start, end = _day(since), _day(until)
        if start and end and end <= start:
            raise CommandError("--until must be after --since")
        outcomes = rebuild_outcomes(store.pk, start, end)
        credited = rebuild_attribution(store, start, end)
        self.stdout.write(json.dumps({"store": store.pk, "outcomes": outcomes, "attributed": credited}))
