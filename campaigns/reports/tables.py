"""Report tables for the admin pages (formatted cells) and their CSV exports (raw values).

A table is a title, a list of (key, heading) columns and rows of dicts; the same rows feed the page, the
CSV file and the API, so the three always agree.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.http import HttpResponse
from django.utils.text import slugify

from .kpis import COLUMNS

HEADINGS = {
    "sent": "Sent", "delivered": "Delivered", "bounced": "Bounced", "bounce_rate": "Bounce rate",
    "opened": "Unique opens", "open_rate": "Open rate", "clicked": "Unique clicks", "click_rate": "Click rate",
    "click_to_open": "Click-to-open", "unsubscribed": "Unsubscribed", "unsubscribe_rate": "Unsubscribe rate",
    "complained": "Complaints", "complaint_rate": "Complaint rate", "conversions": "Conversions",
    "converted_recipients": "Converted recipients", "conversion_rate": "Conversion rate", "revenue": "Revenue",
    "revenue_per_recipient": "Revenue per recipient", "average_order_value": "Average order value",
}
PERCENT = {"bounce_rate", "open_rate", "click_rate", "click_to_open", "unsubscribe_rate", "complaint_rate",
           "conversion_rate", "win_probability", "reachable_share", "growth_rate", "redemption_rate"}
MONEY = {"revenue", "revenue_per_recipient", "average_order_value"}
KPI_COLUMNS = [(name, HEADINGS[name]) for name in COLUMNS]


@dataclass
class Table:
    key: str  # used in ?export=<key>
    title: str
    columns: list[tuple[str, str]]
    rows: list[dict]
    link: str | None = None  # a row key holding a URL for the first cell (not exported)

    def cells(self) -> list[tuple[str | None, list[str]]]:
        return [(row.get(self.link) if self.link else None, [display(name, row.get(name)) for name, _ in self.columns])
                for row in self.rows]


def display(name: str, value) -> str:
    if value is None:
        return "–"
    if name in PERCENT:
        return f"{float(value):.2%}"
    if name in MONEY or isinstance(value, Decimal):
        return f"{float(value):,.2f}"
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float):
        return f"{value:,.4f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def raw(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6f}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def csv_response(table: Table, prefix: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slugify(prefix)}-{table.key}.csv"'
    writer = csv.writer(response)
    writer.writerow([heading for _, heading in table.columns])
    for row in table.rows:
        writer.writerow([raw(row.get(name)) for name, _ in table.columns])
    return response
