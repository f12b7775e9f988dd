"""A logging filter that masks anything that looks like a credential before it is written."""

from __future__ import annotations

import logging
import re

_SECRET_PATTERNS = [
    re.compile(r"(shpat|shpca|shppa|shpss)_[0-9a-fA-F]{16,}"),  # Shopify access tokens and secrets
    re.compile(r"\b(ck|cs)_[0-9a-f]{20,}\b"),  # WooCommerce consumer keys
    re.compile(r"(?i)((?:access[_-]?token|api[_-]?key|secret|password|authorization)[\"']?\s*[:=]\s*[\"']?)[^\s\"',&]+"),
]


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + "[redacted]", text)
        else:
            text = pattern.sub("[redacted]", text)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
