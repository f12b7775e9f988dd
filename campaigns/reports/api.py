"""REST API ``/api/v1/reports/...``: the same numbers as the admin report pages, as JSON.

- ``GET reports/dashboard/?store=ID&since=&until=`` — the store dashboard (``since``/``until``: UTC days,
  ``YYYY-MM-DD``, inclusive; default the last 30 days);
- ``GET reports/campaigns/<id>/``, ``reports/flows/<id>/``, ``reports/segments/<id>/`` — KPIs (all time,
  or the messages sent between ``since`` and ``until``), A/B table, holdout lift.

Money is a decimal string, rates are fractions (0.25 = 25%) or null when the denominator is zero.
Only the caller's stores: anything else answers 404; a bad date answers 400 saying which and why.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from shopconnect.tenancy import visible_stores

from ..models import Campaign, Flow
from . import dashboard as reports

RANGE = [
    OpenApiParameter("since", OpenApiTypes.DATE, description="First UTC day (YYYY-MM-DD), inclusive"),
    OpenApiParameter("until", OpenApiTypes.DATE, description="Last UTC day (YYYY-MM-DD), inclusive"),
]


def plain(value):
    """JSON-ready: Decimals as strings, dates as ISO days."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if not str(k).startswith("_")}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


class ReportViewSet(viewsets.ViewSet):
    """KPIs, attribution and lift for the caller's stores."""

    def _dates(self, optional: bool, zone: str = "UTC"):
        """The days asked for, in the store's time zone ``zone``."""
        since, until = self.request.query_params.get("since"), self.request.query_params.get("until")
        if optional and not since and not until:
            return None
        try:
            return reports.parse_range(since, until, zone=zone)
        except ValueError as exc:
            field, _, why = str(exc).partition(": ")
            raise serializers.ValidationError({field if why else "range": why or str(exc)}) from exc

    def _get(self, model, pk: str):
        obj = model.objects.filter(store__in=visible_stores(self.request.user), pk=pk).first()
        if obj is None:
            raise NotFound()
        return obj

    @extend_schema(parameters=[OpenApiParameter("store", int, required=True, description="Store id"), *RANGE],
                   responses=OpenApiTypes.OBJECT,
                   description="Attributed revenue per day, campaigns and flows ranked by revenue, segment growth, "
                               "list health and deliverability (with alerts).")
    @action(detail=False, methods=["get"])
    def dashboard(self, request):
        raw = request.query_params.get("store", "")
        if not raw.isdigit():
            raise serializers.ValidationError({"store": "a store id is required"})
        store = visible_stores(request.user).filter(pk=raw).first()
        if store is None:
            raise NotFound()
        return Response(plain({"store": store.pk, "currency": store.currency,
                               **reports.dashboard(store.pk, self._dates(optional=False, zone=store.timezone))}))

    @extend_schema(parameters=RANGE, responses=OpenApiTypes.OBJECT,
                   description="Totals, per variant, per day, the A/B table (win probabilities) and holdout lift.")
    @action(detail=False, methods=["get"], url_path=r"campaigns/(?P<campaign_id>\d+)")
    def campaign(self, request, campaign_id: str):
        campaign = self._get(Campaign, campaign_id)
        dates = self._dates(optional=True, zone=campaign.store.timezone)
        return Response(plain(reports.campaign_report(campaign, dates)))

    @extend_schema(parameters=RANGE, responses=OpenApiTypes.OBJECT,
                   description="Totals, per step, per day and holdout lift.")
    @action(detail=False, methods=["get"], url_path=r"flows/(?P<flow_id>\d+)")
    def flow(self, request, flow_id: str):
        flow = self._get(Flow, flow_id)
        return Response(plain(reports.flow_report(flow, self._dates(optional=True, zone=flow.store.timezone))))

    @extend_schema(parameters=RANGE, responses=OpenApiTypes.OBJECT,
                   description="Size, average lifetime value, reachable share; KPIs of sends from campaigns that "
                               "targeted the segment versus the other sends to its members; per day.")
    @action(detail=False, methods=["get"], url_path=r"segments/(?P<segment_id>\d+)")
    def segment(self, request, segment_id: str):
        from segments.models import Segment

        segment = self._get(Segment, segment_id)
        dates = self._dates(optional=True, zone=segment.store.timezone)
        return Response(plain(reports.segment_report(segment, dates)))
