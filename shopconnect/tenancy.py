"""Who may see which store: the one place that answers it, for the admin and the API."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from shopconnect.timeline.models import Store


def visible_stores(user) -> QuerySet[Store]:
    if not user or not user.is_authenticated:
        return Store.objects.none()
    if user.is_superuser:
        return Store.objects.all()
    return Store.objects.filter(memberships__user=user)


def visible_store_ids(user) -> list[int]:
    return list(visible_stores(user).values_list("id", flat=True))


class StoreScopedAdminMixin:
    """Admin mixin: a user sees and picks only the stores it belongs to (superusers: all).

    ``store_path`` is the lookup from the model to its Store (``"store"``, ``"customer__store"``...;
    ``""`` for Store itself). Every app's admin for store-owned data uses this mixin.
    """

    store_path = "store"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        ids = visible_store_ids(request.user)
        return qs.filter(**{f"{self.store_path}__in" if self.store_path else "pk__in": ids})

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Another store's object must look exactly like a missing one: 404, not Django's redirect.
        raise Http404(f"No {opts.verbose_name} with id {object_id!r}.")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Store and not request.user.is_superuser:
            kwargs["queryset"] = visible_stores(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
