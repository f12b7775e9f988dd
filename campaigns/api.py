"""REST API: ``flows/`` (with their steps), ``templates/`` (CRUD), ``campaigns/`` (CRUD with their A/B variants,
editable while draft; ``POST campaigns/<id>/launch/`` and ``.../cancel/``) and ``messages/`` (the outbox,
read-only, filterable by ``customer``, ``flow``, ``campaign``, ``state``). Scoped to the caller's stores: another
store's object answers 404, and a write naming another store's object answers like a missing id (400); roles
decide who may write (``shopconnect.tenancy``)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from shopconnect.inputs import query_id
from shopconnect.tenancy import StoreScopedSerializer, visible_stores

from .flows.editing import FlowErrors, save_steps, validate_flow
from .models import Campaign, CampaignVariant, EmailTemplate, Flow, FlowStep, Message


def _django_errors(exc: DjangoValidationError):
    return serializers.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)


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
    """A step; on write, ``id`` names the existing step it edits (kept in place with its reports)."""

    id = serializers.IntegerField(required=False)

    class Meta:
        model = FlowStep
        fields = ("id", "position", "kind", "name", "template", "message_class", "config", "decided_variant",
                  "decision_reason")
        read_only_fields = ("decided_variant", "decision_reason")


class FlowSerializer(StoreScopedSerializer):
    steps = StepSerializer(many=True, required=False)

    class Meta:
        model = Flow
        fields = ("id", "store", "name", "enabled", "trigger", "trigger_event_type", "trigger_filters",
                  "trigger_segment_id", "date_property", "flow_filters", "reentry", "reentry_days", "exit_goal",
                  "holdout_percent", "relevance_hours",
                  "prebuilt_key", "created_at", "steps")
        read_only_fields = ("prebuilt_key", "created_at")

    def validate(self, data):
        fields = {k: v for k, v in data.items() if k != "steps"}
        flow = Flow(**{**({f.name: getattr(self.instance, f.name) for f in Flow._meta.concrete_fields
                           } if self.instance else {}), **fields})
        try:
            validate_flow(flow, data.get("steps"))
        except FlowErrors as exc:
            raise serializers.ValidationError(exc.as_dict()) from exc
        return data

    @transaction.atomic
    def create(self, validated):
        steps = validated.pop("steps", [])
        flow = Flow.objects.create(**validated)
        save_steps(flow, steps)
        return flow

    @transaction.atomic
    def update(self, flow, validated):
        """Steps are edited in place by ``id`` (history kept); steps left out are removed."""
        steps = validated.pop("steps", None)
        flow = super().update(flow, validated)
        if steps is not None:
            save_steps(flow, steps)
        return flow


class VariantSerializer(serializers.ModelSerializer):
    class Meta:
        model = CampaignVariant
        fields = ("id", "label", "subject", "template", "from_name", "send_hour", "is_default")
        read_only_fields = ("id",)


class CampaignSerializer(StoreScopedSerializer):
    variants = VariantSerializer(many=True, required=False)

    class Meta:
        model = Campaign
        fields = ("id", "store", "name", "template", "include_segments", "exclude_segments", "status", "send_mode",
                  "send_at", "holdout_percent", "test_percent", "winning_metric", "test_hours", "win_probability",
                  "min_sample", "winner", "winner_reason", "audience_size", "started_at", "test_ends_at",
                  "finished_at", "created_at", "variants")
        read_only_fields = ("status", "winner", "winner_reason", "audience_size", "started_at", "test_ends_at",
                            "finished_at", "created_at")

    def validate(self, data):
        from .campaign.admin import check_variants

        if self.instance is not None and self.instance.status != Campaign.Status.DRAFT:
            raise serializers.ValidationError("a launched campaign cannot be changed")
        fields = {k: v for k, v in data.items() if k not in ("variants", "include_segments", "exclude_segments")}
        campaign = Campaign(**{**({f.name: getattr(self.instance, f.name) for f in Campaign._meta.concrete_fields
                                   if f.name != "id"} if self.instance else {}), **fields})
        errors: dict[str, list[str]] = {}  # (another store's template or segment: shopconnect.tenancy)
        variants = data.get("variants") or []
        problems = check_variants([v["label"] for v in variants], sum(1 for v in variants if v.get("is_default")))
        if problems:
            errors["variants"] = problems
        if errors:
            raise serializers.ValidationError(errors)
        try:
            campaign.clean()
            for v in variants:
                CampaignVariant(campaign=campaign, **v).clean()
        except DjangoValidationError as exc:
            raise _django_errors(exc) from exc
        return data

    @transaction.atomic
    def create(self, validated):
        variants = validated.pop("variants", [])
        campaign = super().create(validated)
        CampaignVariant.objects.bulk_create([CampaignVariant(campaign=campaign, **v) for v in variants])
        return campaign

    @transaction.atomic
    def update(self, campaign, validated):
        variants = validated.pop("variants", None)
        campaign = super().update(campaign, validated)
        if variants is not None:
            campaign.variants.all().delete()
            CampaignVariant.objects.bulk_create([CampaignVariant(campaign=campaign, **v) for v in variants])
        return campaign


class MessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Message
        fields = ("id", "store", "customer", "flow", "step", "campaign_id", "variant", "ab_test", "message_class",
                  "state", "skip_reason", "note", "attempts", "next_attempt_at", "provider_message_id", "subject",
                  "sent_at", "created_at")


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


class CampaignViewSet(_Scoped, viewsets.ModelViewSet):
    """Campaigns; ``POST campaigns/<id>/launch/`` (202, or 400 saying why not) and ``.../cancel/``."""

    model = Campaign
    serializer_class = CampaignSerializer

    def get_queryset(self):
        return super().get_queryset().prefetch_related("variants", "include_segments", "exclude_segments")

    @action(detail=True, methods=["post"])
    def launch(self, request, pk=None):
        from django_q.tasks import async_task

        from .campaign.launch import problems

        campaign = self.get_object()
        found = problems(campaign, list(campaign.variants.all()))
        if found:
            return Response({"detail": found}, status=status.HTTP_400_BAD_REQUEST)
        async_task("campaigns.tasks.launch_campaign", campaign.pk)
        return Response({"launching": campaign.pk}, status=status.HTTP_202_ACCEPTED)

    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        from .campaign.launch import cancel

        campaign = self.get_object()
        return Response({"skipped": cancel(campaign.pk)})


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
                qs = qs.filter(**{field: value if field == "state" else query_id(self.request, param)})
        return qs
