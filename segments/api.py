"""REST API: ``segments/`` CRUD, ``segments/preview/`` and ``segments/<id>/members/`` (see docs/CONTRACT.md).

``segments/vocabulary/`` publishes the rule language's vocabulary (``segments.rules.publish``). An invalid
rule tree answers 400 with ``{"definition": {"where": "$.rules[1]...", "why": "...",
"message": "..."}}``; another store's segment answers 404.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from shopconnect.tenancy import visible_stores
from shopconnect.timeline.models import Store

from .describe import describe
from .membership import current_members
from .models import Segment
from .rules import RuleError, parse
from .rules.publish import document
from .service import preview, save_segment


def _check(definition, store, segment_id=None):
    try:
        return parse(definition, store, segment_id=segment_id)
    except RuleError as exc:
        raise serializers.ValidationError(
            {"definition": {"where": exc.path, "why": exc.why, "message": str(exc)}}
        ) from exc


def _int_param(request, name: str) -> int:
    try:
        return int(request.query_params[name])
    except (TypeError, ValueError) as exc:
        raise serializers.ValidationError({name: "expected an id (a whole number)"}) from exc


class _StoreField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return visible_stores(self.context["request"].user)


class SegmentSerializer(serializers.ModelSerializer):
    store = _StoreField()
    rule_text = serializers.SerializerMethodField()
    member_count = serializers.SerializerMethodField()

    class Meta:
        model = Segment
        fields = [
            "id",
            "store",
            "name",
            "description",
            "definition",
            "version",
            "template",
            "is_active",
            "rule_text",
            "member_count",
            "last_computed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["version", "template", "last_computed_at", "created_at", "updated_at"]

    def validate(self, attrs):
        store = attrs.get("store") or (self.instance.store if self.instance else None)
        if self.instance and attrs.get("store") and attrs["store"] != self.instance.store:
            raise serializers.ValidationError({"store": "a segment cannot move to another store"})
        if "definition" in attrs:
            _check(attrs["definition"], store, self.instance.pk if self.instance else None)
        return attrs

    def get_rule_text(self, obj) -> str:
        try:
            return describe(parse(obj.definition, obj.store, segment_id=obj.pk))
        except RuleError as exc:
            return f"invalid: {exc}"

    def get_member_count(self, obj) -> int:
        return current_members(obj).count()

    def create(self, validated):
        return save_segment(Segment(**validated), self.context["request"].user)

    def update(self, instance, validated):
        old = instance.definition
        for key, value in validated.items():
            setattr(instance, key, value)
        return save_segment(instance, self.context["request"].user, old_definition=old)


class PreviewSerializer(serializers.Serializer):
    store = serializers.IntegerField()
    definition = serializers.JSONField()


class SegmentViewSet(viewsets.ModelViewSet):
    serializer_class = SegmentSerializer

    def get_queryset(self):
        qs = Segment.objects.filter(store__in=visible_stores(self.request.user)).select_related("store")
        if self.request.query_params.get("store"):
            qs = qs.filter(store_id=self.request.query_params["store"])
        return qs

    @action(detail=False, methods=["post"])
    def preview(self, request):
        body = PreviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        store = get_object_or_404(visible_stores(request.user), pk=body.validated_data["store"])
        _check(body.validated_data["definition"], store)
        result = preview(store, body.validated_data["definition"])
        return Response(
            {
                "count": result.count,
                "rule_text": result.description,
                "warnings": result.warnings,
                "sample": [{"id": c.pk, "email": c.email, "name": str(c)} for c in result.sample],
            },
            status=status.HTTP_200_OK,
        )

    @action(detail=False, methods=["get"])
    def vocabulary(self, request):
        """The rule language's vocabulary (events, properties and their types, operators, attributes,
        predictions); with ``?store=ID`` also that store's segments, for ``in_segment``."""
        segments = []
        if request.query_params.get("store"):
            store = get_object_or_404(visible_stores(request.user), pk=_int_param(request, "store"))
            segments = list(Segment.objects.filter(store=store).order_by("name").values("id", "name"))
        return Response(document(segments))

    @action(detail=True, methods=["get"])
    def members(self, request, pk=None):
        segment = self.get_object()
        qs = current_members(segment).select_related("customer").order_by("-entered_at", "-id")
        page = self.paginate_queryset(qs)
        rows = [
            {"customer": m.customer_id, "email": m.customer.email, "entered_at": m.entered_at}
            for m in (page if page is not None else qs)
        ]
        return self.get_paginated_response(rows) if page is not None else Response(rows)


__all__ = ["SegmentViewSet", "Store"]
