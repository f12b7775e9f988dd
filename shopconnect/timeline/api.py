"""REST API for stores, customers, timelines and custom events (``/api/v1/``)."""

from __future__ import annotations

import hashlib
import json

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from shopconnect.privacy.api import CustomerPrivacyActions
from shopconnect.tenancy import visible_stores

from . import vocabulary as v
from .canonical import CanonicalEvent, normalize_email
from .consent import STATES, consent_event
from .describe import describe_event
from .models import Customer, Event, Store
from .record import record_events


class StoreSerializer(serializers.ModelSerializer):
    class Meta:
        model = Store
        fields = ("id", "platform", "domain", "url", "name", "currency", "timezone", "status", "collect_key",
                  "created_at")


class PredictionSerializer(serializers.Serializer):
    """Present once predictions were computed for the customer (see segments.predictions)."""

    def to_representation(self, instance):
        return instance.as_api_dict()


class CustomerSerializer(serializers.ModelSerializer):
    tags = serializers.SerializerMethodField()
    prediction = serializers.SerializerMethodField()

    class Meta:
        model = Customer
        fields = (
            "id", "store", "email", "external_id", "first_name", "last_name", "phone", "country", "timezone",
            "device", "properties", "tags", "email_consent", "consent_updated_at", "created_at", "deleted_at",
            "orders_count", "total_spent", "average_order_value", "first_order_at", "last_order_at",
            "last_seen_at", "last_opened_at", "last_clicked_at", "emails_received", "prediction",
        )

    def get_tags(self, customer: Customer) -> list[str]:
        return sorted(tag.tag for tag in customer.tags.all())

    def get_prediction(self, customer: Customer) -> dict | None:
        prediction = getattr(customer, "prediction", None)
        return prediction.as_api_dict() if prediction is not None else None


class EventSerializer(serializers.ModelSerializer):
    description = serializers.SerializerMethodField()

    class Meta:
        model = Event
        fields = ("id", "type", "occurred_at", "received_at", "source", "properties", "description", "customer")

    def get_description(self, event: Event) -> str:
        return describe_event(event)


class TimelinePagination(CursorPagination):
    ordering = ("-occurred_at", "-id")
    page_size = 50


class StoreViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = StoreSerializer

    def get_queryset(self):
        return visible_stores(self.request.user).order_by("id")


@extend_schema(
    parameters=[
        OpenApiParameter("store", int, description="Only this store's customers"),
        OpenApiParameter("email", str, description="Exact email (case-insensitive)"),
    ]
)
class CustomerViewSet(CustomerPrivacyActions, viewsets.ReadOnlyModelViewSet):
    serializer_class = CustomerSerializer

    def get_queryset(self):
        qs = (
            Customer.objects.filter(store__in=visible_stores(self.request.user))
            .select_related("prediction")
            .prefetch_related("tags")
            .order_by("-id")
        )
        params = self.request.query_params
        if "store" in params:
            store = serializers.IntegerField().run_validation(params["store"])
            qs = qs.filter(store_id=store)
        if "email" in params:
            qs = qs.filter(email=normalize_email(params["email"]) or params["email"].strip().lower())
        return qs

    @extend_schema(responses=EventSerializer(many=True))
    @action(detail=True, methods=["get"])
    def timeline(self, request, pk=None):
        customer = self.get_object()
        events = Event.objects.filter(customer=customer)
        paginator = TimelinePagination()
        page = paginator.paginate_queryset(events, request, view=self)
        return paginator.get_paginated_response(EventSerializer(page, many=True).data)


class CustomerRefSerializer(serializers.Serializer):
    email = serializers.EmailField(required=False)
    external_id = serializers.CharField(required=False, max_length=64)

    def validate(self, data):
        if not data.get("email") and not data.get("external_id"):
            raise serializers.ValidationError("Give the customer's email or external_id.")
        return data


class CustomEventSerializer(serializers.Serializer):
    store = serializers.PrimaryKeyRelatedField(queryset=Store.objects.none())
    customer = CustomerRefSerializer()
    type = serializers.CharField(max_length=64)
    occurred_at = serializers.DateTimeField()
    properties = serializers.DictField(required=False, default=dict)
    dedupe_key = serializers.CharField(required=False, max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        self.fields["store"].queryset = visible_stores(request.user if request else None)

    def validate_type(self, value: str) -> str:
        if value != v.CONSENT_CHANGED and not v.CUSTOM_TYPE.match(value):
            raise serializers.ValidationError(
                "Must be custom.<name>: lowercase letters, digits and underscores (for example custom.sms_reply), "
                "or consent.changed."
            )
        return value

    def validate(self, data):
        if data["type"] == v.CONSENT_CHANGED:
            data["consent"] = ConsentPropertiesSerializer(data=data.get("properties") or {}).run_validation(
                data.get("properties") or {})
        return data


class ConsentPropertiesSerializer(serializers.Serializer):
    """``properties`` of a ``consent.changed`` posted by a developer (recorded in the consent ledger)."""

    state = serializers.ChoiceField(choices=sorted(STATES))
    channel = serializers.ChoiceField(choices=["email", "sms"], default="email")
    source = serializers.RegexField(r"^[a-z0-9_]{1,32}$", default="api",
                                    help_text="Where the change came from in your system (pos, crm, sms_keyword...).")
    opt_in_level = serializers.ChoiceField(choices=["single_opt_in", "confirmed_opt_in", "unknown"],
                                           required=False)
    evidence = serializers.DictField(required=False, default=dict,
                                     help_text="What proves it (a form id, a recording, a ticket): kept in the ledger.")

    def validate_evidence(self, value: dict) -> dict:
        if len(json.dumps(value, default=str)) > 2000:
            raise serializers.ValidationError("At most 2,000 characters of evidence.")
        return value


class CustomEventViewSet(mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Post cross-channel events (SMS replies, support tickets, app usage) onto a customer's timeline."""

    serializer_class = CustomEventSerializer

    @extend_schema(responses={201: dict, 200: dict})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        key = data.get("dedupe_key") or hashlib.sha256(
            json.dumps([data["type"], data["occurred_at"].isoformat(), data["customer"], data["properties"]],
                       sort_keys=True, default=str).encode()
        ).hexdigest()
        identity = {"email": data["customer"].get("email"), "external_id": data["customer"].get("external_id")}
        if data["type"] == v.CONSENT_CHANGED:
            consent = data["consent"]
            event = consent_event(
                consent["state"], consent["source"], ref=f"api:{key}", occurred_at=data["occurred_at"],
                evidence={**consent["evidence"], "api_user": request.user.get_username()}, event_source="api",
                channel=consent["channel"], opt_in_level=consent.get("opt_in_level", ""), **identity)
        else:
            event = CanonicalEvent(
                type=data["type"],
                occurred_at=data["occurred_at"],
                dedupe_key=f"api:{key}",
                source="api",
                properties=data["properties"],
                **identity,
            )
        result = record_events(data["store"], [event])
        customer = get_object_or_404(
            Customer.objects.filter(store=data["store"]),
            **({"external_id": event.external_id} if event.external_id else {"email": normalize_email(event.email)}),
        )
        body = {"customer": customer.pk, "duplicate": result.inserted == 0,
                "event": result.event_ids[0] if result.event_ids else None}
        return Response(body, status=status.HTTP_201_CREATED if result.inserted else status.HTTP_200_OK)
