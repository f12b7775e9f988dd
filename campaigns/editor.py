"""The template editor's server side: render the source being edited for a chosen customer (the live
preview), list the variables the context offers with their values for that customer, pick a customer
by search or as a member of a segment, and send a test to the logged-in user through the store's provider.

Rendering goes through ``campaigns.rendering.render_email`` (the same entry point, with its limits, as
the sender). Previews and tests never carry a working unsubscribe link: the link is a placeholder, so a
test mail forwarded by mistake cannot unsubscribe the previewed customer. Tests are not tracked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import Q, QuerySet

from shopconnect.timeline.models import Customer, Store

from .context import TIERS, build_context
from .coupons import SAMPLE, sample_code
from .models import EmailProvider
from .providers import ProviderNotConfigured, connection_for
from .rendering import Rendered, TemplateProblem, render_email

PREHEADER_CHARS = 110
SEARCH_LIMIT = 20
TRIGGERS = ["checkout.started", "cart.updated", "order.placed"]


@dataclass
class Source:
    subject: str
    html: str
    text: str = ""
    discount_code: str = ""
    unique_code: bool = False  # previews show a sample: a real code is created only when the email is sent
    code_prefix: str = ""


def preview_unsubscribe_url() -> str:
    return f"{settings.PUBLIC_BASE_URL}/u/preview-only-not-a-real-link/"


def search_customers(store: Store, query: str) -> QuerySet[Customer]:
    """Customers of the store whose name or email contains every word of ``query`` (all customers)."""
    found = Customer.objects.filter(store=store, deleted_at__isnull=True)
    for word in query.split()[:4]:
        found = found.filter(Q(email__icontains=word) | Q(first_name__icontains=word) | Q(last_name__icontains=word))
    return found.order_by("first_name", "last_name", "id")


def label(customer: Customer) -> str:
    name = f"{customer.first_name} {customer.last_name}".strip()
    return f"{name} <{customer.email}>" if name and customer.email else (customer.email or str(customer))


def segment_member(store: Store, segment_id: int, position: int = 0) -> tuple[Customer | None, int]:
    """The ``position``-th current member of one of the store's segments (wrapping), and the member count."""
    from segments.models import SegmentMembership

    members = SegmentMembership.objects.filter(segment_id=segment_id, segment__store=store, exited_at__isnull=True)
    count = members.count()
    if not count:
        return None, 0
    row = members.order_by("customer_id").values_list("customer_id", flat=True)[position % count]
    return Customer.objects.filter(pk=row, store=store).first(), count


def _context(store: Store, customer: Customer, source: Source) -> dict:
    trigger = customer.events.filter(type__in=TRIGGERS).order_by("-occurred_at", "-id").first()
    code = sample_code(source.code_prefix.strip().upper()) if source.unique_code else source.discount_code
    extra = {"discount_code": code or "", "unsubscribe_url": preview_unsubscribe_url(),
             "preferences_url": preview_unsubscribe_url()}
    return build_context(store, customer, trigger, extra)


def _short(value, limit: int = 80) -> str:
    if isinstance(value, datetime):
        value = f"{value:%Y-%m-%d %H:%M} UTC"
    text = "" if value in (None, "") else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def variables(context: dict) -> list[dict]:
    """What the context offers, each with what it holds for this customer (for the insert menu)."""
    customer, store = context["customer"], context["store"]
    out = [{"group": "Customer", "name": f"customer.{key}", "value": _short(customer.get(key))}
           for key in ("first_name", "last_name", "name", "email", "country", "orders_count", "total_spent",
                       "average_order_value", "last_order_at", "engagement_tier", "device")]
    out[-2]["hint"] = "one of: " + ", ".join(t for t, _ in TIERS)
    out += [{"group": "Store", "name": f"store.{key}", "value": _short(store.get(key))}
            for key in ("name", "url", "currency", "address")]
    for item in out:
        if not item["value"]:
            item["value"] = "(empty for this customer)" if item["name"].startswith("customer.") else \
                "(empty: set it on the store's page)"
    items = context["items"]
    out.append({"group": "Cart or order", "name": "items", "value": f"{len(items)} item(s)" + (
        ": " + ", ".join(_short(i["title"], 30) for i in items[:3]) if items else " (from the latest cart, checkout "
        "or order)"), "snippet": "{% for item in items %}{{ item.title }} × {{ item.quantity }}{% endfor %}"})
    out.append({"group": "Cart or order", "name": "recovery_url", "value": _short(context["recovery_url"])})
    recs = context["recommendations"]()
    out.append({"group": "Products", "name": "recommendations", "value": ", ".join(_short(r["title"], 30)
                                                                                for r in recs) or "none",
                "snippet": "{% for p in recommendations %}{{ p.title }}{% endfor %}"})
    code = context["discount_code"]
    out.append({"group": "Email", "name": "discount_code", "value": (
        f"{code} (a sample: each recipient gets their own code)" if code.endswith(SAMPLE) else code)
        or "(empty: set it on the template)"})
    out.append({"group": "Email", "name": "unsubscribe_url", "value": "a personal link per recipient"})
    for item in out:
        item.setdefault("snippet", "{{ " + item["name"] + " }}")
    return out


def preheader(rendered: Rendered) -> str:
    """What an inbox shows after the subject: the start of the email's text."""
    return _short(" ".join(rendered.text.split()), PREHEADER_CHARS)


def render_for(store: Store, customer: Customer, source: Source) -> dict:
    """The preview: subject, preheader, HTML, text and the variables, or the error that stops sending."""
    context = _context(store, customer, source)
    try:
        rendered = render_email(source.subject, source.html, source.text, context)
    except TemplateProblem as exc:
        return {"error": str(exc), "part": exc.part, "variables": variables(context)}
    return {"subject": rendered.subject, "preheader": preheader(rendered), "html": rendered.html,
            "text": rendered.text, "variables": variables(context), "customer": label(customer)}


def send_test(store: Store, customer: Customer, source: Source, to: str) -> str:
    """Render for ``customer`` and send to ``to`` through the store's provider; returns what happened.
    Raises ``ProviderNotConfigured`` or ``TemplateProblem``; the provider's own errors propagate."""
    provider = EmailProvider.objects.filter(store=store).first()
    if provider is None:
        raise ProviderNotConfigured("this store has no email provider")
    rendered = render_email(source.subject, source.html, source.text, _context(store, customer, source))
    email = EmailMultiAlternatives(subject=f"[Test] {rendered.subject}", body=rendered.text,
                                   from_email=provider.from_header, to=[to], connection=connection_for(provider))
    email.attach_alternative(rendered.html, "text/html")
    email.send()
    return f"Test sent to {to} through {provider.get_kind_display()}, as {label(customer)} would get it."
