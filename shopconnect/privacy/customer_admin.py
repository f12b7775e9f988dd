"""The customer page's consent control and data requests (a mixin for ``CustomerAdmin``).

- **Change consent** (``<id>/consent/``): the consent field itself is read-only; this page shows the
  ledger and records a ``consent.changed`` with source ``admin``, the staff user and a required reason.
  Subscribing lifts the address's own unsubscribe suppression (bounces and complaints stay).
- **Export data** (``<id>/export/`` or the list action): a confirmation page with a reason, then a JSON
  file download; recorded as a ``PrivacyRequest``.
- **Erase** (``<id>/erase/`` or the list action): a confirmation page listing who will be erased and
  what, with a reason; the same erasure as Shopify's ``customers/redact``; recorded.

Roles: ``shopconnect.privacy.permissions``.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from campaigns.models import Suppression
from shopconnect.timeline.consent import ADMIN_STATES, change_consent, evidence_text, history, source_label
from shopconnect.timeline.models import Consent, Customer

from . import permissions
from .erase import erase_customer, record_request
from .export import export_bytes, export_customer, export_filename
from .models import PrivacyRequest


class ConsentChangeForm(forms.Form):
    state = forms.ChoiceField(choices=[(s.value, s.label) for s in ADMIN_STATES], widget=forms.RadioSelect,
                              label="New consent")
    reason = forms.CharField(max_length=300, widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
                             help_text="Why (for example: asked by phone on 3 March). Kept in the consent history.")


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=300, widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
                             help_text="Why (for example: data request by email, ticket 812). Kept in the record; "
                                       "do not write the person's details here.")


def consent_rows(customer: Customer, limit: int = 50) -> list[dict]:
    return [
        {"event": e, "state": Consent(e.properties.get("state")).label if e.properties.get("state") in Consent.values
         else e.properties.get("state"), "channel": e.properties.get("channel", "email"),
         "source": source_label(e), "evidence": evidence_text(e)}
        for e in history(customer)[:limit]
    ]


class CustomerPrivacyMixin:
    """Adds the consent control, export and erase to the customer admin (see the module docstring)."""

    actions = ["export_selected", "erase_selected"]

    def has_delete_permission(self, request, obj=None):
        return False  # "Erase" replaces deleting: it also scrubs raw data and keeps suppressions hashed

    def get_readonly_fields(self, request, obj=None):
        return tuple(super().get_readonly_fields(request, obj)) + ("email_consent",)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/consent/", wrap(self.consent_view), name="timeline_customer_consent"),
            path("<path:object_id>/export/", wrap(self.export_view), name="timeline_customer_export"),
            path("<path:object_id>/erase/", wrap(self.erase_view), name="timeline_customer_erase"),
        ] + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        customer = self.get_object(request, object_id)
        if customer is not None:
            extra_context["consent_rows"] = consent_rows(customer)
            extra_context["may_change_consent"] = permissions.may_change_consent(request.user, customer.store_id)
            extra_context["may_export"] = permissions.may_export(request.user, customer.store_id)
            extra_context["may_erase"] = permissions.may_erase(request.user, customer.store_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def _customer(self, request, object_id) -> Customer:
        customer = self.get_object(request, object_id)
        if customer is None:
            raise Http404("No such customer.")
        return customer

    def _page(self, request, template: str, **context) -> TemplateResponse:
        return TemplateResponse(request, template, {**self.admin_site.each_context(request), "opts": self.model._meta,
                                                     **context})

    # --- consent --------------------------------------------------------------------------------
    def consent_view(self, request, object_id):
        customer = self._customer(request, object_id)
        if not permissions.may_change_consent(request.user, customer.store_id):
            raise Http404("No such customer.")  # like a customer of another store
        form = ConsentChangeForm(request.POST or None)
        suppressions = list(Suppression.objects.filter(store=customer.store, email=customer.email or "-"))
        change_url = reverse("admin:timeline_customer_change", args=[customer.pk])
        if request.method == "POST" and form.is_valid():
            state, reason = form.cleaned_data["state"], form.cleaned_data["reason"]
            user = request.user
            changed = change_consent(customer, state, "admin", event_source="admin", evidence={
                "staff_user": user.get_username(), "staff_user_id": user.pk, "reason": reason})
            if state == Consent.SUBSCRIBED:
                Suppression.objects.filter(store=customer.store, email=customer.email or "-",
                                           reason=Suppression.Reason.UNSUBSCRIBE).delete()
            label = Consent(state).label
            if changed:
                note = " It will be written to Shopify too." if self._writes_back(customer) else ""
                self.message_user(request, f"Consent of {customer} is now “{label}”, recorded in the consent "
                                           f"history as changed by {user.get_username()}.{note}", messages.SUCCESS)
            else:
                self.message_user(request, "That change was already recorded.", messages.INFO)
            return HttpResponseRedirect(change_url + "#consent")
        return self._page(request, "admin/privacy/consent_change.html", title=f"Change consent of {customer}",
                          customer=customer, form=form, rows=consent_rows(customer), suppressions=suppressions,
                          writes_back=self._writes_back(customer), change_url=change_url)

    @staticmethod
    def _writes_back(customer: Customer) -> bool:
        return customer.store.platform == "shopify" and bool(customer.external_id)

    # --- export and erase -----------------------------------------------------------------------
    def export_view(self, request, object_id):
        return self._export(request, [self._customer(request, object_id)], action=False)

    def erase_view(self, request, object_id):
        return self._erase(request, [self._customer(request, object_id)], action=False)

    @admin.action(description="Export selected customers' data (JSON file)")
    def export_selected(self, request, queryset):
        return self._export(request, list(queryset.select_related("store")[:100]), action=True)

    @admin.action(description="Erase selected customers and all their data")
    def erase_selected(self, request, queryset):
        return self._erase(request, list(queryset.select_related("store")[:100]), action=True)

    def _refuse(self, request, customers, allowed, what: str):
        refused = [c for c in customers if not allowed(request.user, c.store_id)]
        if refused:
            self.message_user(request, f"You may not {what} customers of {refused[0].store}: only its owners can.",
                              messages.ERROR)
        return refused

    def _export(self, request, customers, *, action: bool):
        if self._refuse(request, customers, permissions.may_export, "export"):
            return None if action else HttpResponseRedirect(reverse("admin:timeline_customer_changelist"))
        form = ReasonForm(request.POST if "confirm" in request.POST else None)
        if form.is_bound and form.is_valid():
            documents = []
            for customer in customers:
                document = export_customer(customer)
                documents.append(document)
                record_request(customer.store, PrivacyRequest.Kind.EXPORT, PrivacyRequest.Via.ADMIN, customer.pk,
                               user=request.user, reason=form.cleaned_data["reason"],
                               summary={"events": len(document["events"]), "messages": len(document["messages"])})
            name = export_filename(customers[0]) if len(customers) == 1 else f"{len(customers)}-customers-export.json"
            response = HttpResponse(export_bytes(documents), content_type="application/json")
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        return self._confirm_page(request, customers, form, action=action, kind="export")

    def _erase(self, request, customers, *, action: bool):
        if self._refuse(request, customers, permissions.may_erase, "erase"):
            return None if action else HttpResponseRedirect(reverse("admin:timeline_customer_changelist"))
        form = ReasonForm(request.POST if "confirm" in request.POST else None)
        if form.is_bound and form.is_valid():
            names = ", ".join(str(c) for c in customers[:3]) + (" ..." if len(customers) > 3 else "")
            for customer in customers:
                erase_customer(customer, via=PrivacyRequest.Via.ADMIN, user=request.user,
                               reason=form.cleaned_data["reason"])
            self.message_user(request, f"Erased {len(customers)} customer(s): {names}. The record of it is under "
                                       "Privacy > Privacy requests.", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:timeline_customer_changelist"))
        return self._confirm_page(request, customers, form, action=action, kind="erase")

    def _confirm_page(self, request, customers, form, *, action: bool, kind: str):
        rows = [{"customer": c, "events": c.events.count(), "messages": c.messages.count()} for c in customers]
        title = (f"Export the data of {len(customers)} customer(s)" if kind == "export"
                 else f"Erase {len(customers)} customer(s) and all their data")
        return self._page(request, "admin/privacy/customer_request.html", title=title, kind=kind, rows=rows,
                          form=form, action=action, action_name=f"{kind}_selected",
                          selected=[c.pk for c in customers])
