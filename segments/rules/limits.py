"""How big a rule may be: every cost of a segment is bounded by these (checked by the parser)."""

MAX_DEPTH = 12  # nesting of groups, counting the trees of referenced segments
MAX_CHILDREN = 50  # rules in one group
