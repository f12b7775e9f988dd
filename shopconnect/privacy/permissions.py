"""Who may change consent, export and erase, by their role in the customer's store.

Until ``shopconnect.tenancy`` has role checks of its own, the rule is read here from
``StoreMembership.role``: superusers (operators) may do everything; a store's owners may erase its
customers; owners and marketers may export a customer's data and change their consent; viewers may do
none of it (they read the profile and its consent history).
"""

from __future__ import annotations

from shopconnect.timeline.models import StoreMembership

ERASE_ROLES = frozenset({StoreMembership.Role.OWNER})
CONSENT_ROLES = frozenset({StoreMembership.Role.OWNER, StoreMembership.Role.MARKETER})


def _role_in(user, store_id: int, roles: frozenset) -> bool:
    if not user or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return StoreMembership.objects.filter(user=user, store_id=store_id, role__in=roles).exists()


def may_erase(user, store_id: int) -> bool:
    """Erase: operators and the store's owners."""
    return _role_in(user, store_id, ERASE_ROLES)


def may_export(user, store_id: int) -> bool:
    return _role_in(user, store_id, CONSENT_ROLES)


def may_change_consent(user, store_id: int) -> bool:
    return _role_in(user, store_id, CONSENT_ROLES)
