"""REST API: ``flows/`` (with their steps), ``templates/`` (CRUD) and ``messages/`` (the outbox, read-only,
filterable by ``customer``, ``flow``, ``campaign``, ``state``). Scoped to the caller's stores: another
store's object answers 404, and a write naming another store is refused (400)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from rest_framework import serializers, viewsets

from shopconnect.tenancy import visible_stores

from .models import EmailTemplate, Flow, FlowStep, Message


def _django_errors(exc: DjangoValidationError):
    return serializers.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)


class StoreScopedSerializer(serializers.ModelSerializer):
    def validate_store(self, store):
        if not visible_stores(self.context["request"].user).filter(pk=store.pk).exists():
            raise serializers.ValidationError("unknown store")
        return store


class TemplateSerializer(StoreScopedSerializer):
    class Meta:
        model = EmailTemplate
        fields = ("id", "store", "name", "subject", "html", "text", "discount_code", "updated_at")

    def validate(self, data):
        instance = EmailTemplate(**{**({f: getattr(self.instance, f) for f in data} if self.instance else {}), **data})
        try:
            instance.clean()
        except DjangoValidationError as exc:
            raise _django_errors(exc) from exc
        return data


class StepSerializer(serializers.ModelSerializer):
    class Meta:
        model = FlowStep
        fields = ("id", "position", "kind", "name", "template", "config")
        read_only_fields = ("id",)


class FlowSerializer(StoreScopedSerializer):
    steps = StepSerializer(many=True, required=False)

    class Meta:
        model = Flow
        fields = ("id", "store", "name", "enabled", "trigger", "trigger_event_type", "trigger_filters",
                  "trigger_segment_id", "date_property", "flow_filters", "reentry", "reentry_days", "exit_goal",
                  "prebuilt_key", "created_at", "steps")
        read_only_fields = ("prebuilt_key", "created_at")

    def validate(self, data):
        fields = {k: v for k, v in data.items() if k != "steps"}
        flow = Flow(**{**({f.name: getattr(self.instance, f.name) for f in Flow._meta.concrete_fields
                           if f.name != "id"} if self.instance else {}), **fields})
        try:
            flow.clean()
            for step in data.get("steps") or []:
                template = step.get("template")
                if template is not None and template.store_id != flow.store_id:
                    raise DjangoValidationError({"steps": "a step's template must belong to the flow's store"})
                FlowStep(flow=flow, **step).clean()
        except DjangoValidationError as exc:
            raise _django_errors(exc) from exc
        positions = [s["position"] for s in data.get("steps") or []]
        if len(positions) != len(set(positions)):
            raise serializers.ValidationError({"steps": "positions must be unique"})
        return data

    @transaction.atomic
    def create(self, validated):
        steps = validated.pop("steps", [])
        flow = Flow.objects.create(**validated)
        FlowStep.objects.bulk_create([FlowStep(flow=flow, **s) for s in steps])
        return flow

    @transaction.atomic
    def update(self, flow, validated):
        steps = validated.pop("steps", None)
        flow = super().update(flow, validated)
        if steps is not None:
            flow.steps.all().delete()
            FlowStep.objects.bulk_create([FlowStep(flow=flow, **s) for s in steps])
        return flow


class MessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Message
        fields = ("id", "store", "customer", "flow", "step", "campaign_id", "variant", "state", "skip_reason", "note",
                  "attempts", "next_attempt_at", "provider_message_id", "subject", "sent_at", "created_at")


class _Scoped:
    model = None

    def get_queryset(self):
        return self.model.objects.filter(store__in=visible_stores(self.request.user)).order_by("-id")


class TemplateViewSet(_Scoped, viewsets.ModelViewSet):
    model = EmailTemplate
    serializer_class = TemplateSerializer


class FlowViewSet(_Scoped, viewsets.ModelViewSet):
    model = Flow
    serializer_class = FlowSerializer

    def get_queryset(self):
        return super().get_queryset().prefetch_related("steps")


class MessageViewSet(_Scoped, viewsets.ReadOnlyModelViewSet):
    """The outbox: why did (or didn't) this customer get an email."""

    model = Message
    serializer_class = MessageSerializer
    FILTERS = {"customer": "customer_id", "flow": "flow_id", "campaign": "campaign_id", "store": "store_id",
               "state": "state"}

    def get_queryset(self):
        qs = super().get_queryset()
        for param, field in self.FILTERS.items():
            value = self.request.query_params.get(param)
            if value:
                if field != "state" and not value.isdigit():
                    raise serializers.ValidationError({param: "must be an id"})
                qs = qs.filter(**{field: value})
        return qs
