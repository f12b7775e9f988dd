"""The demo store's signup forms: double opt-in, a popup and an embedded form (created once; a second
``manage.py demo`` leaves whatever a marketer changed)."""

from __future__ import annotations

from .models import SignupForm, SignupSettings


def install_demo_forms(store) -> dict[str, int]:
    SignupSettings.objects.get_or_create(store=store, defaults={"opt_in": SignupSettings.OptIn.DOUBLE})
    created = 0
    for name, kind in (("Welcome popup (demo)", SignupForm.Kind.POPUP), ("Footer signup (demo)",
                                                                         SignupForm.Kind.EMBEDDED)):
        _, new = SignupForm.objects.get_or_create(store=store, name=name, defaults={
            "kind": kind, "enabled": True, "fields": ["first_name"], "delay_seconds": 8, "exit_intent": True,
            "headline": "10% off your first order" if kind == SignupForm.Kind.POPUP else "Trail news, monthly",
        })
        created += new
    return {"forms_created": created}
