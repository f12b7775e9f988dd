"""Device type from a User-Agent, with the ``user-agents`` parser (ua-parser's maintained rules)."""

from __future__ import annotations

from functools import lru_cache

from user_agents import parse


@lru_cache(maxsize=4096)
def device_type(user_agent: str) -> str:
    """``mobile``, ``tablet``, ``desktop``, or ``""`` when unknown (empty, a bot, unparseable)."""
    if not user_agent:
        return ""
    ua = parse(user_agent[:512])
    if ua.is_bot:
        return ""
    if ua.is_tablet:
        return "tablet"
    if ua.is_mobile:
        return "mobile"
    if ua.is_pc:
        return "desktop"
    return ""
