"""Automated flows: triggers (``triggers``), step rules (``steps``), the engine (``engine``) and the
prebuilt flows (``prebuilt``)."""
