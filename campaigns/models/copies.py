"""The copy of what was sent: each sent message's subject, HTML and text, as rendered for its customer.

Stored by the sender right after the provider accepted the message (``campaigns.copies.keep_copies``),
so the customer's profile and the message's page show exactly what that person got, even after the
template changed. The HTML is the rendered email before link tracking (so that opening the copy in the
admin never counts as a click). Bounded: the HTML is kept up to ``MAX_HTML`` characters and the text up
to ``MAX_TEXT`` (``truncated`` says when), compressed with zlib.
"""

from __future__ import annotations

from django.db import models

MAX_HTML = 100_000
MAX_TEXT = 20_000


class SentCopy(models.Model):
    message = models.OneToOneField("campaigns.Message", primary_key=True, on_delete=models.CASCADE,
                                   related_name="sent_copy")
    subject = models.CharField(max_length=300)
    body = models.BinaryField(help_text="zlib-compressed JSON: {'html': ..., 'text': ...}")
    truncated = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"copy of message {self.message_id}"

    def parts(self) -> dict[str, str]:
        import json
        import zlib

        return json.loads(zlib.decompress(bytes(self.body)))
