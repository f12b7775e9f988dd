"""``POST /api/v1/customers/<id>/export/`` and ``POST /api/v1/customers/<id>/erase/`` (a mixin for the
customer viewset).

Both take ``{"reason": "..."}`` (required: it goes into the record) and are recorded as a
``PrivacyRequest`` with the caller as the requester. Export answers the JSON document as a file
(``Content-Disposition: attachment``); erase answers ``{"erased": true, "request": <record id>}``.
Export needs the owner or marketer role in the customer's store, erase the owner role (operators may do
both); a caller without it gets 403, a customer of another store 404.
"""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from . import permissions
from .erase import erase_customer, record_request
from .export import export_bytes, export_customer, export_filename
from .models import PrivacyRequest


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, help_text="Why (a ticket, 'request by email'): no personal data.")


class CustomerPrivacyActions:
    @extend_schema(request=ReasonSerializer, responses={200: OpenApiResponse(description="the export, a JSON file")})
    @action(detail=True, methods=["post"])
    def export(self, request, pk=None):
        customer = self.get_object()
        if not permissions.may_export(request.user, customer.store_id):
            raise PermissionDenied("Exporting needs the owner or marketer role in this store.")
        reason = ReasonSerializer(data=request.data)
        reason.is_valid(raise_exception=True)
        document = export_customer(customer)
        record_request(customer.store, PrivacyRequest.Kind.EXPORT, PrivacyRequest.Via.API, customer.pk,
                       user=request.user, reason=reason.validated_data["reason"],
                       summary={"events": len(document["events"]), "messages": len(document["messages"])})
        response = HttpResponse(export_bytes([document]), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="{export_filename(customer)}"'
        return response

    @extend_schema(request=ReasonSerializer, responses={200: dict})
    @action(detail=True, methods=["post"])
    def erase(self, request, pk=None):
        customer = self.get_object()
        if not permissions.may_erase(request.user, customer.store_id):
            raise PermissionDenied("Erasing needs the owner role in this store.")
        reason = ReasonSerializer(data=request.data)
        reason.is_valid(raise_exception=True)
        record = erase_customer(customer, via=PrivacyRequest.Via.API, user=request.user,
                                reason=reason.validated_data["reason"])
        return Response({"erased": True, "request": record.pk}, status=status.HTTP_200_OK)
