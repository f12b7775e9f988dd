"""Email changes from proven platform data: the customer keeps their history under the new address.

A signed platform profile (``customer.created`` / ``customer.updated`` from a platform webhook, a
backfill or the API, carrying the platform's customer id) is the truth about which address a platform
customer has. When the newest such profile carries another address than the one stored, the customer
moves to it: the same row, so the timeline, aggregates, consent, segments and flows stay with the person,
and everything that is sent from then on (and the consent write-back, which names the platform id) uses
the new address. Storefront claims never change an address (``shopconnect.timeline.record``).

When the new address already belongs to another customer of the store (the collision rule):

- that customer has **no platform id** (a guest checkout, a storefront sign-up): it is the same person,
  as the platform now says; its events and visitors move to the platform customer, and the emptied row
  stays without an address (its sent messages keep their history);
- it has **another platform id**: the platform gave the address to this customer, so the other one gives
  it up (its address becomes empty and nothing is sent to it until its own profile names its new address);
  its timeline stays its own.

``email_changed`` is sent so that what belongs to the person follows the address: the suppression list's
person-level reasons (unsubscribed, complaint, added by hand) are copied to the new address
(``campaigns.address_change``); address-level ones (bounces) stay with the old mailbox.
"""

from __future__ import annotations

from django.dispatch import Signal

from . import vocabulary as v
from .canonical import CanonicalEvent, normalize_email
from .models import Customer, CustomerTag, Event, Visitor

#: ``sender=Customer, store_id, customer_id, old, new`` once a customer's address changed
email_changed = Signal()

#: sources whose customer profiles are signed or proven (never the storefront)
PROVEN_SOURCES = frozenset({"shopify", "woocommerce", "backfill", "api"})
PROFILE_TYPES = frozenset({v.CUSTOMER_CREATED, v.CUSTOMER_UPDATED})


def new_address(event: CanonicalEvent, customer: Customer) -> str | None:
    """The address this proven platform profile gives the customer, when it differs from the stored one."""
    if event.type not in PROFILE_TYPES or event.source not in PROVEN_SOURCES or not event.external_id:
        return None
    if str(event.external_id) != (customer.external_id or ""):
        return None
    new = normalize_email(event.email)
    return new if new and new != customer.email else None


def change_email(customer: Customer, new: str) -> set[int]:
    """Move ``customer`` to address ``new`` (collision rule above); returns the customers whose timeline
    changed (the other holder when history moved), for the aggregates and segments to follow."""
    moved: set[int] = set()
    holder = Customer.objects.filter(store_id=customer.store_id, email=new).exclude(pk=customer.pk).first()
    if holder is not None:
        Customer.objects.filter(pk=holder.pk).update(email=None)
        if not holder.external_id:
            Event.objects.filter(customer_id=holder.pk).update(customer_id=customer.pk)
            Visitor.objects.filter(customer_id=holder.pk).update(customer_id=customer.pk)
            tags = set(CustomerTag.objects.filter(customer_id=holder.pk).values_list("tag", flat=True))
            CustomerTag.objects.bulk_create([CustomerTag(customer_id=customer.pk, tag=t) for t in tags],
                                            ignore_conflicts=True)
            moved |= {customer.pk, holder.pk}
    old = customer.email
    customer.email = new
    Customer.objects.filter(pk=customer.pk).update(email=new)
    email_changed.send(sender=Customer, store_id=customer.store_id, customer_id=customer.pk, old=old, new=new)
    return moved
