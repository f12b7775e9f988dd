"""Admin: the record of data requests, store erasures (with their progress and errors), retention policies,
and the store list's "Erase store" action (``StoreErasureMixin``, used by ``StoreAdmin``)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse

from shopconnect.tenancy import StoreScopedAdminMixin

from . import permissions
from .models import DEFAULTS, PrivacyRequest, RetentionPolicy, StoreErasure
from .shop import _enqueue, request_store_erasure


@admin.register(PrivacyRequest)
class PrivacyRequestAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "kind", "via", "customer_ref", "requested_by_name", "reason", "store")
    list_filter = ("kind", "via", "store")
    search_fields = ("reason", "requested_by_name")
    readonly_fields = [f.name for f in PrivacyRequest._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(StoreErasure)
class StoreErasureAdmin(admin.ModelAdmin):
    """Operators only: the store the erasure was for is gone (or going)."""

    list_display = ("requested_at", "store_id", "store_name", "via", "status", "attempts", "short_error",
                    "finished_at")
    list_filter = ("status",)
    readonly_fields = [f.name for f in StoreErasure._meta.fields]
    actions = ["retry_now"]

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Last error")
    def short_error(self, erasure: StoreErasure) -> str:
        return (erasure.last_error.splitlines() or [""])[-1][:160]

    @admin.action(description="Retry the selected erasures now")
    def retry_now(self, request, queryset):
        ids = list(queryset.exclude(status=StoreErasure.Status.DONE).values_list("pk", flat=True))
        for erasure_id in ids:
            _enqueue(erasure_id)
        self.message_user(request, f"Queued {len(ids)} erasure(s) again.", messages.INFO)


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    list_display = ("store", "webhook_body_days", "collect_batch_days", "anonymous_visitor_days", "signup_days",
                    "event_days")

    def get_changeform_initial_data(self, request):
        return {**super().get_changeform_initial_data(request), **{k: v for k, v in DEFAULTS.items() if v}}

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or permissions.may_erase(request.user, obj.store_id))


class StoreErasureMixin:
    """The store list's "Erase store and all its data" action (with a confirmation page); deleting a
    store the stock way is replaced by it (a store's templates are protected by its flows and campaigns)."""

    actions = ["erase_stores"]

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Erase selected stores and all their data")
    def erase_stores(self, request, queryset):
        stores = list(queryset)
        if not request.user.is_superuser:
            self.message_user(request, "Only operators (superusers) can erase a store.", messages.ERROR)
            return None
        if request.POST.get("confirm") == "yes":
            for store in stores:
                request_store_erasure(store, via="admin", user=request.user)
            self.message_user(request, f"Erasing {len(stores)} store(s); progress under Privacy > Store erasures.",
                              messages.SUCCESS)
            return HttpResponseRedirect(request.get_full_path())
        counts = [{"store": s, "customers": s.customers.count(), "events": s.events.count(),
                   "flows": s.flows.count(), "campaigns": s.campaigns.count()} for s in stores]
        return TemplateResponse(request, "admin/privacy/store_erase.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta, "rows": counts,
            "title": f"Erase {len(stores)} store(s) and all their data", "selected": [s.pk for s in stores]})
