"""Deterministic random assignment: who is in a holdout, who is in the A/B test share.

A customer's place is a hash of a salt (``"campaign:12"``, ``"flow:3"``) and the customer id, read as a
uniform number in [0, 1). The same campaign and customer always land in the same place, so a launch that
is run again, a later audit or a test can recompute exactly who was held out; different campaigns hash
differently, so the same people are not always the control group.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

SCALE = 10_000  # basis points: percentages with two decimals are exact


def point(salt: str, customer_id: int) -> int:
    """The customer's uniform position in [0, SCALE) for this salt."""
    digest = hashlib.sha256(f"{salt}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % SCALE


def threshold(percent: Decimal | float | int) -> int:
    return int(round(Decimal(str(percent)) * SCALE / 100))


def in_holdout(salt: str, customer_id: int, percent: Decimal | float | int) -> bool:
    """True for the ``percent`` share of customers held out of this campaign or flow."""
    return bool(percent) and point(f"{salt}:holdout", customer_id) < threshold(percent)


def test_order(salt: str, customer_id: int) -> int:
    """Sort key for choosing the A/B test share (independent of the holdout hash)."""
    return point(f"{salt}:test", customer_id)
