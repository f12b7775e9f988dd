"""The names predictions give (no numpy here: the rule language imports these to validate rules)."""

CHAMPIONS, LOYAL, RECENT, PROMISING = "champions", "loyal", "recent", "promising"
NEEDS_ATTENTION, CANNOT_LOSE, AT_RISK = "needs attention", "cannot lose", "at risk"
HIBERNATING, LOST = "hibernating", "lost"
#: RFM groups, best first (``segments.predictions.rfm`` says how each is assigned)
GROUPS = (CHAMPIONS, LOYAL, RECENT, PROMISING, NEEDS_ATTENTION, CANNOT_LOSE, AT_RISK, HIBERNATING, LOST)
CHURN_BANDS = ("low", "medium", "high")
