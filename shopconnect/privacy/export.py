"""Everything held about one customer, as one JSON document (a data subject's access request).

Sections: ``profile`` (with the aggregates), ``tags``, ``visitors`` (storefront ids), ``events`` (the
whole timeline), ``consent_history`` (the ledger, with its evidence), ``messages`` (every email queued
for them: subject, state, why it was skipped), ``flows`` (enrollments), ``segments`` (memberships, past
and current), ``prediction``, ``signups`` (form submissions) and ``suppressions`` (of their address).
Used by the admin's "Export data", ``POST /api/v1/customers/<id>/export/`` and Shopify's
``customers/data_request``.
"""

from __future__ import annotations

import json
from typing import Any

from django.apps import apps
from django.core.serializers.json import DjangoJSONEncoder

from shopconnect.timeline.consent import history
from shopconnect.timeline.models import Customer, Event

PROFILE_EXPORT_FIELDS = (
    "id", "email", "external_id", "first_name", "last_name", "phone", "country", "timezone", "device",
    "properties", "email_consent", "consent_updated_at", "created_at", "deleted_at", "orders_count",
    "total_spent", "average_order_value", "first_order_at", "last_order_at", "last_seen_at",
    "last_opened_at", "last_clicked_at", "emails_received",
)
FORMAT_VERSION = 1


def export_customer(customer: Customer) -> dict[str, Any]:
    """Everything held about one customer, as JSON-ready data (a fixed number of queries)."""
    Message = apps.get_model("campaigns", "Message")
    Enrollment = apps.get_model("campaigns", "Enrollment")
    Suppression = apps.get_model("campaigns", "Suppression")
    SegmentMembership = apps.get_model("segments", "SegmentMembership")
    Prediction = apps.get_model("predictions", "CustomerPrediction")
    data: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "store": customer.store.domain,
        "profile": {name: getattr(customer, name) for name in PROFILE_EXPORT_FIELDS},
        "tags": sorted(customer.tags.values_list("tag", flat=True)),
        "visitors": list(customer.visitors.values_list("client_id", flat=True)),
        "events": list(
            Event.objects.filter(customer=customer).order_by("occurred_at", "id")
            .values("type", "occurred_at", "source", "properties")
        ),
        "consent_history": list(history(customer).values("occurred_at", "source", "properties")),
        "messages": list(
            Message.objects.filter(customer=customer).order_by("created_at", "id").values(
                "id", "subject", "state", "skip_reason", "sent_at", "created_at", "campaign__name", "flow__name",
                "marketing",
            )
        ),
        "flows": list(
            Enrollment.objects.filter(customer=customer).order_by("entered_at", "id")
            .values("flow__name", "status", "entered_at", "finished_at", "exit_reason")
        ),
        "segments": list(
            SegmentMembership.objects.filter(customer=customer).order_by("entered_at", "id")
            .values("segment__name", "entered_at", "exited_at")
        ),
        "prediction": None,
        "suppressions": list(
            Suppression.objects.filter(store=customer.store, email=customer.email or "-")
            .values("reason", "detail", "created_at")
        ),
        "signups": [],
    }
    prediction = Prediction.objects.filter(customer=customer).first()
    if prediction is not None:
        data["prediction"] = prediction.as_api_dict()
    if apps.is_installed("integrations.storefront.signup"):
        Submission = apps.get_model("signup", "Submission")
        data["signups"] = list(
            Submission.objects.filter(customer=customer).order_by("submitted_at", "id")
            .values("form__name", "kind", "email", "fields", "page_url", "ip", "wording", "status",
                    "submitted_at", "confirmed_at")
        )
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def export_filename(customer: Customer) -> str:
    return f"customer-{customer.pk}-export.json"


def export_bytes(documents: list[dict[str, Any]]) -> bytes:
    body = documents[0] if len(documents) == 1 else {"customers": documents}
    return json.dumps(body, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False).encode()
