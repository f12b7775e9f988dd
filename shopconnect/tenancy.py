"""Who may see and do what in which store: the one place that answers it, for the admin and the API.

**Roles** (``StoreMembership.role``; each includes the ones before it):

- ``viewer`` reads everything of the store: admin lists and pages (read-only), API ``GET``.
- ``marketer`` also creates, edits and deletes templates, segments, flows, campaigns, suppressions and
  customers' details, launches and cancels campaigns, enables flows, reprocesses deliveries.
- ``owner`` also manages the store's members, its email provider and its settings (name, currency, time
  zone, secrets).
- **Operators** connect stores (the Shopify install, ``connect_store``, *Add store* in the admin), decide
  where a store lives (platform, domain, URL) and delete stores: superusers, or staff with the permission
  ``timeline.connect_store`` ("Can connect stores"). Superusers see and may do everything.

**Tenancy**: every object belongs to one store (``store_path``); a user sees only the stores it belongs
to, and every foreign key chosen in an admin form (inlines included) or an API body is limited to the
object's own store. A choice of another store answers exactly like a missing id ("not one of the available
choices" in the admin, ``Invalid pk "N" - object does not exist.`` in the API), so ids of other stores
cannot be probed. Changelist filter sidebars list only the user's stores' objects.

**For new code** (one call each):

- ``require_role(user, store, "marketer")`` raises ``PermissionDenied`` (403) unless the user has that role
  in the store; ``has_role(user, store, role)`` answers it; ``stores_with_role(user, role)`` is the queryset.
- Admin: ``class MyAdmin(StoreScopedAdminMixin, admin.ModelAdmin)`` (set ``edit_role = "owner"`` for
  owner-only data); inlines: ``StoreScopedInlineMixin``. Actions run only on the selected objects of
  stores where the user has ``edit_role`` (an action may set ``action.role = "owner"``).
- API: ``StoreRolePermission`` is in ``REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"]`` (reads: viewer;
  writes and actions: ``view.edit_role``, default marketer; per action ``view.action_roles = {"preview":
  "viewer"}``); serializers inherit ``StoreScopedSerializer`` for scoped foreign keys.
"""

from __future__ import annotations

import functools

from django.contrib import admin
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db import models
from django.db.models import QuerySet
from django.http import Http404
from rest_framework import permissions, serializers

from shopconnect.inputs import BoundedJSONFormField
from shopconnect.timeline.models import Store, StoreMembership

ROLES = (StoreMembership.Role.VIEWER, StoreMembership.Role.MARKETER, StoreMembership.Role.OWNER)
_RANK = {role: rank for rank, role in enumerate(ROLES)}
OPERATOR_PERMISSION = "timeline.connect_store"


# --- who has which role ---------------------------------------------------------------------------
def _roles(user) -> dict[int, str]:
    """{store id: role} of a (non-superuser) user, one query per request (kept on the user object)."""
    cached = getattr(user, "_sc_roles", None)
    if cached is None:
        cached = dict(StoreMembership.objects.filter(user=user).values_list("store_id", "role"))
        user._sc_roles = cached
    return cached


def _active(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def is_operator(user) -> bool:
    return _active(user) and (user.is_superuser or user.has_perm(OPERATOR_PERMISSION))


def _store_id(store: Store | int | None) -> int | None:
    return store.pk if isinstance(store, Store) else store


def has_role(user, store: Store | int | None, role: str = "viewer") -> bool:
    """Whether ``user`` may act as ``role`` in ``store`` (superusers: everywhere)."""
    if not _active(user):
        return False
    if user.is_superuser:
        return True
    held = _roles(user).get(_store_id(store))
    return held is not None and _RANK[held] >= _RANK[role]


def has_role_anywhere(user, role: str = "viewer") -> bool:
    if not _active(user):
        return False
    return user.is_superuser or any(_RANK[held] >= _RANK[role] for held in _roles(user).values())


def require_role(user, store: Store | int | None, role: str) -> None:
    """Raise ``PermissionDenied`` unless ``user`` has ``role`` in ``store``."""
    if not has_role(user, store, role):
        raise PermissionDenied(f"this needs the {role} role in the store")


def stores_with_role(user, role: str = "viewer") -> QuerySet[Store]:
    if not _active(user):
        return Store.objects.none()
    if user.is_superuser:
        return Store.objects.all()
    return Store.objects.filter(pk__in=[sid for sid, held in _roles(user).items() if _RANK[held] >= _RANK[role]])


def visible_stores(user) -> QuerySet[Store]:
    return stores_with_role(user, StoreMembership.Role.VIEWER)


def visible_store_ids(user) -> list[int]:
    return list(visible_stores(user).values_list("id", flat=True))


# --- which store an object belongs to -------------------------------------------------------------
@functools.cache
def store_path(model: type[models.Model]) -> str | None:
    """The lookup from ``model`` to its Store: ``""`` for Store, ``"store"``, ``"flow__store"``...; None for
    models that belong to no store (users)."""
    if model is Store:
        return ""
    fields = [f for f in model._meta.get_fields()
              if (f.many_to_one or f.one_to_one) and f.concrete and f.related_model]
    if any(f.name == "store" and f.related_model is Store for f in fields):
        return "store"
    for field in fields:  # one hop: a step belongs to its flow's store, a tag to its customer's
        if field.related_model is not model and store_path(field.related_model) == "store":
            return f"{field.name}__store"
    return None


def store_id_of(obj: models.Model | None) -> int | None:
    """The id of the store ``obj`` belongs to (None when unknown yet, or for objects of no store)."""
    if obj is None:
        return None
    path = store_path(type(obj))
    if path is None:
        return None
    if path == "":
        return obj.pk
    *hops, last = path.split("__")
    try:
        for hop in hops:
            obj = getattr(obj, hop)
    except ObjectDoesNotExist:
        return None
    return getattr(obj, f"{last}_id", None) if obj is not None else None


def scope(queryset: QuerySet, user, role: str = "viewer") -> QuerySet:
    """``queryset`` limited to the stores where ``user`` has ``role``."""
    path = store_path(queryset.model)
    if path is None or (_active(user) and user.is_superuser):
        return queryset
    ids = list(stores_with_role(user, role).values_list("pk", flat=True))
    return queryset.filter(**{f"{path}__in" if path else "pk__in": ids})


def narrow(queryset: QuerySet, user, store_id: int | None, role: str) -> QuerySet:
    """The choices a user may pick for an object of ``store_id`` (its own store only), or for a new object
    (any of the user's stores where it has ``role``)."""
    path = store_path(queryset.model)
    if path is None:
        return queryset
    if store_id is not None:
        return queryset.filter(**{path or "pk": store_id})
    return scope(queryset, user, role)


def foreign_store(obj: models.Model, store_id: int | None) -> bool:
    """Whether a chosen object belongs to another store than ``store_id`` (None: not known yet)."""
    return store_id is not None and store_path(type(obj)) is not None and store_id_of(obj) not in (None, store_id)


# --- admin -----------------------------------------------------------------------------------------
class TenantFormMixin:
    """A model form whose store-owned choices are limited to the object's store (see ``narrow``)."""

    tenancy_user = None
    tenancy_role = StoreMembership.Role.MARKETER
    tenancy_store_id = None  # an inline's parent store (its forms get their parent only after __init__)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        own = store_id_of(self.instance) or self.tenancy_store_id
        for field in self.fields.values():
            queryset = getattr(field, "queryset", None)
            if queryset is not None:
                field.queryset = narrow(queryset, self.tenancy_user, own, self.tenancy_role)

    def _target_store_id(self) -> int | None:
        chosen = self.cleaned_data.get("store")
        return chosen.pk if isinstance(chosen, Store) else (store_id_of(self.instance) or self.tenancy_store_id)

    def clean(self):
        data = super().clean()
        target = self._target_store_id()
        for name, field in self.fields.items():
            queryset = getattr(field, "queryset", None)
            if queryset is None or queryset.model is Store or name not in self.cleaned_data:
                continue
            found = _foreign_in(self.cleaned_data[name], target)
            if found is not None:
                # Exactly what a missing id says: nothing tells that the id exists in another store.
                self.add_error(name, field.error_messages["invalid_choice"] % {"value": found.pk})
        return data


def tenant_form(form_class, user, role: str, store_id: int | None = None):
    return type(form_class)(form_class.__name__, (TenantFormMixin, form_class), {
        "tenancy_user": user, "tenancy_role": role, "tenancy_store_id": store_id, "__module__": form_class.__module__})


class ScopedRelatedFilter(admin.RelatedFieldListFilter):
    """A changelist filter on a foreign key that lists only the user's stores' objects."""

    def field_choices(self, field, request, model_admin):
        ordering = self.field_admin_ordering(field, request, model_admin)
        related = field.related_model
        path = store_path(related)
        if path is None or request.user.is_superuser:
            return field.get_choices(include_blank=False, ordering=ordering)
        key = f"{path}__in" if path else "pk__in"
        return field.get_choices(include_blank=False, ordering=ordering,
                                 limit_choices_to={key: visible_store_ids(request.user)})


class _RolePermissions:
    """has_*_permission from the roles: view with any role, edit with ``edit_role`` in the object's store.
    (And JSON form fields with bounded nesting: ``shopconnect.inputs``.)"""

    edit_role = StoreMembership.Role.MARKETER
    formfield_overrides = {models.JSONField: {"form_class": BoundedJSONFormField}}

    def _store_of(self, obj) -> int | None:
        return store_id_of(obj)

    def has_module_permission(self, request):
        return has_role_anywhere(request.user)

    def has_view_permission(self, request, obj=None):
        return has_role_anywhere(request.user) if obj is None else has_role(request.user, self._store_of(obj))

    def _may_edit(self, request, obj=None) -> bool:
        if obj is None:
            return has_role_anywhere(request.user, self.edit_role)
        store = self._store_of(obj)
        return has_role_anywhere(request.user, self.edit_role) if store is None else has_role(
            request.user, store, self.edit_role)

    def has_add_permission(self, request, *args):
        return self._may_edit(request)

    def has_change_permission(self, request, obj=None):
        return self._may_edit(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._may_edit(request, obj)


class StoreScopedAdminMixin(_RolePermissions):
    """Admin mixin: a user sees only its stores' objects (superusers: all), may change them with
    ``edit_role``, picks foreign keys only from the object's store, and filters by its stores only.

    ``store_path`` is the lookup from the model to its Store (default: found from the model).
    """

    store_path: str | None = None

    def _path(self) -> str:
        return self.store_path if self.store_path is not None else (store_path(self.model) or "store")

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        path = self._path()
        return qs.filter(**{f"{path}__in" if path else "pk__in": visible_store_ids(request.user)})

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Another store's object must look exactly like a missing one: 404, not Django's redirect.
        raise Http404(f"No {opts.verbose_name} with id {object_id!r}.")

    def get_form(self, request, obj=None, **kwargs):
        return tenant_form(super().get_form(request, obj, **kwargs), request.user, self.edit_role)

    def get_list_filter(self, request):
        out = []
        for entry in super().get_list_filter(request):
            if isinstance(entry, str) and "__" not in entry:
                field = self.model._meta.get_field(entry)
                if field.is_relation and field.related_model and store_path(field.related_model) is not None:
                    entry = (entry, ScopedRelatedFilter)
            out.append(entry)
        return out

    def get_actions(self, request):
        if not has_role_anywhere(request.user, self.edit_role):
            return {}
        return super().get_actions(request)

    def get_action(self, action):
        found = super().get_action(action)
        if found is None:
            return None
        func, name, description = found
        role = getattr(func, "role", self.edit_role)

        @functools.wraps(func)
        def scoped(modeladmin, request, queryset):
            # Only the selected objects of stores where the user has the role: a viewer's launch does nothing.
            return func(modeladmin, request, scope(queryset, request.user, role))

        return scoped, name, description


class StoreScopedInlineMixin(_RolePermissions):
    """Inline mixin: the parent's role decides, and its foreign keys are limited to the parent's store."""

    def _store_of(self, obj) -> int | None:  # obj is the parent object here
        return store_id_of(obj)

    def has_add_permission(self, request, obj=None):
        return self._may_edit(request, obj)

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form = tenant_form(formset.form, request.user, self.edit_role, store_id_of(obj))
        return formset


# --- API -------------------------------------------------------------------------------------------
class StoreRolePermission(permissions.BasePermission):
    """Reads need a role in the store (querysets are scoped anyway); writes and actions ``view.edit_role``
    (default marketer) in the object's store, or in the ``store`` a create names."""

    message = "your role in this store does not allow it"

    @staticmethod
    def role_for(request, view) -> str:
        action = getattr(view, "action", None)
        custom = getattr(view, "action_roles", {}).get(action)
        if custom:
            return custom
        if request.method in permissions.SAFE_METHODS:
            return StoreMembership.Role.VIEWER
        return getattr(view, "edit_role", StoreMembership.Role.MARKETER)

    def has_permission(self, request, view):
        role = self.role_for(request, view)
        if request.method in permissions.SAFE_METHODS or role == StoreMembership.Role.VIEWER:
            return True
        if getattr(view, "action", None) in ("create", None) or not getattr(view, "detail", False):
            raw = request.data.get("store") if hasattr(request.data, "get") else None
            try:
                store_id = int(raw)
            except (TypeError, ValueError):
                return has_role_anywhere(request.user, role)  # the serializer says what is wrong
            if has_role(request.user, store_id, StoreMembership.Role.VIEWER):
                return has_role(request.user, store_id, role)
            return True  # not one of the caller's stores: the serializer answers "does not exist"
        return True  # detail routes: has_object_permission

    def has_object_permission(self, request, view, obj):
        return has_role(request.user, store_id_of(obj), self.role_for(request, view))


class StoreScopedSerializer(serializers.ModelSerializer):
    """Every store-owned foreign key (nested ones too) accepts only objects of the object's store; another
    store's id answers exactly like a missing one: ``Invalid pk "N" - object does not exist.``"""

    def _user(self):
        request = self.context.get("request")
        return request.user if request is not None else None

    def get_fields(self):
        fields = super().get_fields()
        own = store_id_of(self.instance) if isinstance(self.instance, models.Model) else None
        _narrow_fields(fields, self._user(), own)
        return fields

    def to_internal_value(self, data):
        attrs = super().to_internal_value(data)
        target = attrs.get("store") or (self.instance.store if getattr(self.instance, "store_id", None) else None)
        errors = {}
        for name, value in attrs.items():
            found = _foreign_in(value, _store_id(target))
            if found is not None:
                errors[name] = [serializers.PrimaryKeyRelatedField.default_error_messages["does_not_exist"]
                                .format(pk_value=found.pk)]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


def _foreign_in(value, store_id: int | None):
    """The first object of another store in a value (a model, or lists and dicts of them)."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple | set | QuerySet):
        for inner in value:
            found = _foreign_in(inner, store_id)
            if found is not None:
                return found
        return None
    if isinstance(value, models.Model) and not isinstance(value, Store) and foreign_store(value, store_id):
        return value
    return None


def _narrow_fields(fields, user, own: int | None) -> None:
    for field in fields.values():
        if isinstance(field, serializers.ManyRelatedField):
            field = field.child_relation
        if isinstance(field, serializers.ListSerializer):
            field = field.child
        if isinstance(field, serializers.Serializer):
            _narrow_fields(field.fields, user, own)
            continue
        queryset = getattr(field, "queryset", None)
        if isinstance(field, serializers.RelatedField) and queryset is not None and not field.read_only:
            field.queryset = narrow(queryset, user, own, StoreMembership.Role.VIEWER)
