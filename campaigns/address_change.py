"""What follows a customer to a new email address (``shopconnect.timeline.emails.email_changed``).

The person's own choices follow them: an unsubscribe, a spam complaint or a manual suppression of the old
address is copied to the new one, so a changed address never restarts mail someone asked to stop.
Bounces describe the old mailbox, not the person, and stay with it.
"""

from __future__ import annotations

from shopconnect.timeline.emails import email_changed
from shopconnect.timeline.models import Customer

from .models import Suppression

PERSON_REASONS = (Suppression.Reason.UNSUBSCRIBE, Suppression.Reason.COMPLAINT, Suppression.Reason.MANUAL)


def follow_new_address(sender, store_id: int, customer_id: int, old: str | None, new: str, **kwargs) -> None:
    if not old:
        return
    row = (Suppression.objects.filter(store_id=store_id, email=old, reason__in=PERSON_REASONS)
           .values("reason", "detail").first())
    if row is not None:
        Suppression.objects.get_or_create(store_id=store_id, email=new, defaults={
            "reason": row["reason"], "detail": f"follows the customer from {old}"[:300]})


def connect() -> None:
    email_changed.connect(follow_new_address, sender=Customer, dispatch_uid="campaigns-suppression-follows")
