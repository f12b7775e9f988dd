"""WooCommerce's webhook signature, exactly as ``WC_Webhook::generate_signature`` computes it.

WooCommerce signs ``base64(hmac_sha256(body, wp_specialchars_decode(secret, ENT_QUOTES)))``: the key is
the stored secret after WordPress decodes the five special-character entities (``&amp;``, ``&lt;``,
``&gt;``, ``&quot;``, ``&#039;`` and their numeric forms). Only those: ``&eacute;`` or an entity
without its semicolon stays as it is, unlike ``html.unescape``. So we sign with the same decoded key.
"""

from __future__ import annotations

import re

# wp_specialchars_decode(): first the zero-padded numeric forms are normalized...
_PREG = [
    (re.compile(r"&#0*39;"), "&#039;"),
    (re.compile(r"&#x0*27;", re.IGNORECASE), "&#x27;"),
    (re.compile(r"&#0*34;"), "&#034;"),
    (re.compile(r"&#x0*22;", re.IGNORECASE), "&#x22;"),
    (re.compile(r"&#0*60;"), "&#060;"),
    (re.compile(r"&#0*62;"), "&#062;"),
    (re.compile(r"&#0*38;"), "&#038;"),
    (re.compile(r"&#x0*26;", re.IGNORECASE), "&#x26;"),
]
# ...then one strtr() pass (longest key first, replaced text is not scanned again).
_TRANSLATION = {
    "&#039;": "'",
    "&#x27;": "'",
    "&quot;": '"',
    "&#034;": '"',
    "&#x22;": '"',
    "&lt;": "<",
    "&#060;": "<",
    "&gt;": ">",
    "&#062;": ">",
    "&amp;": "&",
    "&#038;": "&",
    "&#x26;": "&",
}
_STRTR = re.compile("|".join(re.escape(k) for k in sorted(_TRANSLATION, key=len, reverse=True)))


def wp_specialchars_decode(text: str) -> str:
    """WordPress's ``wp_specialchars_decode($text, ENT_QUOTES)``."""
    if "&" not in text:
        return text
    for pattern, replacement in _PREG:
        text = pattern.sub(replacement, text)
    return _STRTR.sub(lambda m: _TRANSLATION[m.group(0)], text)


def signing_key(secret: str) -> str:
    """The HMAC key WooCommerce uses for a webhook whose secret is ``secret``."""
    return wp_specialchars_decode(secret)
