"""How big a rule may be: every cost of a segment is bounded by these (checked by the parser).

A condition is any rule node (group, ``not``, leaf), property filter or follow-up. Referenced segments
(``in_segment``) are parsed once each; their conditions count towards ``MAX_EXPANDED`` as many times as
they are referred to, because that is what evaluating the rule costs.
"""

MAX_DEPTH = 12  # nesting of groups, counting the trees of referenced segments
MAX_CHILDREN = 50  # rules in one group (and filters or follow-ups in one condition)
MAX_NODES = 200  # conditions in one definition
MAX_EXPANDED = 400  # conditions once references are expanded
MAX_BYTES = 64 * 1024  # the definition's JSON
