"""The campaign engine: audience (audience.py), random assignment (assign.py), best send hour (sendtime.py),
launch (launch.py), the A/B decision (abtest.py) and the per-minute upkeep (run.py)."""
