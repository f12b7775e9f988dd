"""The segment rule language: a versioned JSON tree parsed into typed nodes (``parse``), validated on save
(``validate``), compiled to SQL (``segments.compiler``) and described in plain language (``describe``).

Top level: ``{"version": 1, "type": "and" | "or", "rules": [...]}`` (any node with ``version``). Nodes:

- ``{"type": "and"|"or", "rules": [...]}``, ``{"type": "not", "rule": {...}}``
- ``{"type": "performed", "event": "product.viewed" | [...], "count": {"op": "gte", "value": 3},
  "window": {"last": {"days": 7}, "until": {"hours": 1}} | {"start": ISO, "end": ISO} | {"since": ISO}
  | {"same_month_last_year": true}, "where": [{"property": "category", "op": "eq", "value": "boots"}],
  "same": "product_id", "distinct": "product_id", "hour_of_day": {"from": 11, "to": 14},
  "day_of_week": [6, 7], "not_followed_by": [{"event": "order.placed", "where": [...],
  "after": {"minutes": 10}}], "sum": {"property": "duration_seconds", "op": "gt", "value": 180}}``
  (``sum``: the matching events' number property adds up to more/less than the value, for example "more
  than 3 minutes on product pages in 7 days")
- ``{"type": "not_performed", ...}`` (convenience: rewritten to ``not`` + ``performed``)
- ``{"type": "attribute", "field": "total_spent", "op": "gte", "value": 100}``
- ``{"type": "prediction", "field": "churn_band", "op": "eq", "value": "high"}``
- ``{"type": "percentile", "field": "total_spent", "direction": "top", "percent": 20}``
- ``{"type": "in_segment", "segment": <id>}`` (cycles rejected)

Any key not listed here is an error, at every level, naming the allowed keys (a typo never widens a
segment). Sizes are bounded (``segments.rules.limits``). ``parse_where`` reads a list of property filters
on its own (the builder's "where" mode). The vocabulary (event types, their properties and types,
operators, fields) is published for builders by ``segments.rules.publish``.
"""

from .nodes import And, Attribute, InSegment, Node, Not, Or, Percentile, Performed, Prediction, walk
from .parser import VERSION, RuleError, parse, parse_where, validate

__all__ = [
    "VERSION",
    "And",
    "Attribute",
    "InSegment",
    "Node",
    "Not",
    "Or",
    "Percentile",
    "Performed",
    "Prediction",
    "RuleError",
    "parse",
    "parse_where",
    "validate",
    "walk",
]
