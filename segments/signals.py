"""Membership signals that flows subscribe to.

``segment_entered`` / ``segment_exited``: ``sender=Segment, segment=<Segment>, customer_ids=[...]``,
sent after the membership change is committed.
"""

from django.dispatch import Signal

segment_entered = Signal()
segment_exited = Signal()
