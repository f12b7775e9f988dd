"""The customer's admin page becomes the customer profile (``shopconnect.workspace.profile``).

Registered from here so that the timeline app does not depend on campaigns and segments; the
predictions section (``segments.predictions.admin``, loaded later) is added to this admin the same way.
"""

from __future__ import annotations

from django.contrib import admin

from shopconnect.timeline.admin import CustomerAdmin
from shopconnect.timeline.models import Customer

from .profile import profile_context


class CustomerProfileAdmin(CustomerAdmin):
    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        customer = self.get_object(request, object_id)
        if customer is not None:
            extra_context.update(profile_context(request, customer))
        return super().change_view(request, object_id, form_url, extra_context)


admin.site.unregister(Customer)
admin.site.register(Customer, CustomerProfileAdmin)
