"""Keeping the copy of each sent message (``SentCopy``): one bulk INSERT per sender batch."""

from __future__ import annotations

import json
import zlib
from datetime import datetime

from .models import Message, SentCopy
from .models.copies import MAX_HTML, MAX_TEXT
from .rendering import Rendered


def copy_of(message: Message, rendered: Rendered, at: datetime) -> SentCopy:
    html, text = rendered.html[:MAX_HTML], rendered.text[:MAX_TEXT]
    body = zlib.compress(json.dumps({"html": html, "text": text}).encode(), 6)
    return SentCopy(message_id=message.pk, subject=rendered.subject[:300], body=body, created_at=at,
                    truncated=len(html) < len(rendered.html) or len(text) < len(rendered.text))


def keep_copies(copies: list[SentCopy]) -> int:
    """Store the copies (a copy already kept is left as it is)."""
    if copies:
        SentCopy.objects.bulk_create(copies, ignore_conflicts=True, batch_size=500)
    return len(copies)
