"""Admin for frequency caps by engagement (registered from ``campaigns/admin.py``): a plain form (store,
tier, at most per week, at most per month), the tier's size next to each cap, and on save the tier's
engagement segment is created from its built-in template when the store lacks it, so the cap applies at
once. Scoped to the user's stores."""

from __future__ import annotations

from django.contrib import admin, messages

from shopconnect.tenancy import StoreScopedAdminMixin

from .models import FrequencyCap


def tier_segment(store, tier: str):
    """The store's segment for an engagement tier, created from its template (and filled) if missing."""
    from segments.membership import sync_segment
    from segments.models import Segment
    from segments.templates import create_from_template

    segment = Segment.objects.filter(store=store, template=tier).first()
    if segment is None:
        segment = create_from_template(store, tier)
        sync_segment(segment)
    return segment


@admin.register(FrequencyCap)
class FrequencyCapAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    list_display = ("tier", "store", "per_week", "per_month", "customers_now")
    list_filter = ("store",)
    fields = ("store", "tier", "per_week", "per_month")

    @admin.display(description="Customers in this tier now")
    def customers_now(self, cap: FrequencyCap) -> int:
        from segments.models import SegmentMembership

        return SegmentMembership.objects.filter(segment__store_id=cap.store_id, segment__template=cap.tier,
                                                exited_at__isnull=True).count()

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        segment = tier_segment(obj.store, obj.tier)
        size = self.customers_now(obj)
        self.message_user(request, f"{obj}: applied at send time to the {size} customers now in the segment "
                                   f"'{segment.name}' (flow and campaign emails; order follow-ups are never capped).",
                          messages.SUCCESS)
