"""Who may change consent, export and erase, by their role in the customer's store (``shopconnect.tenancy``):
superusers (operators) may do everything; a store's owners may erase its customers; owners and marketers
may export a customer's data and change their consent; viewers may do none of it (they read the profile
and its consent history).
"""

from __future__ import annotations

from shopconnect.tenancy import has_role


def may_erase(user, store_id: int) -> bool:
    """Erase: operators and the store's owners."""
    return has_role(user, store_id, "owner")


def may_export(user, store_id: int) -> bool:
    return has_role(user, store_id, "marketer")


def may_change_consent(user, store_id: int) -> bool:
    return has_role(user, store_id, "marketer")
