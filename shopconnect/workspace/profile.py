"""The customer profile (the customer's admin page): the activity timeline first, with type filters and
labels, then tabs for the messages they got (status, skip reason, the copy that was sent), the flows they
went through (with each enrollment's decision log), their segments (current and past) and their consent
history (the consent ledger's panel, ``shopconnect.privacy``: history, change consent, export, erase); the
raw fields are under "Edit profile".

Every section is a bounded query on the customer's own rows (its indexes: events by customer and time,
messages by customer, enrollments by customer, memberships by customer).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Prefetch, Q

from shopconnect.timeline.describe import describe_event
from shopconnect.timeline.models import Customer, Event

BROWSING = ["page.viewed", "product.viewed", "collection.viewed", "search.submitted"]


@dataclass(frozen=True)
class Kind:
    key: str
    label: str  # the filter's name
    tag: str  # the short label shown on each row
    where: Q


KINDS = [
    Kind("orders", "Orders", "Order", Q(type__startswith="order.")),
    Kind("cart", "Cart and checkout", "Cart", Q(type="cart.updated") | Q(type__startswith="checkout.")),
    Kind("browsing", "Browsing", "Browse", Q(type__in=BROWSING)),
    Kind("email", "Email", "Email", Q(type__startswith="email.")),
    Kind("consent", "Consent", "Consent", Q(type="consent.changed")),
    Kind("profile", "Profile", "Profile", Q(type__startswith="customer.")),
    Kind("custom", "Other channels", "Other", Q(type__startswith="custom.")),
]
BY_KEY = {k.key: k for k in KINDS}
TABS = [("activity", "Activity"), ("messages", "Messages"), ("flows", "Flows"), ("segments", "Segments"),
        ("consent", "Consent history"), ("edit", "Edit profile")]
PAGE_SIZE = 25
LIST_LIMIT = 50


def kind_of(event_type: str) -> Kind | None:
    if event_type.startswith("order."):
        return BY_KEY["orders"]
    if event_type == "cart.updated" or event_type.startswith("checkout."):
        return BY_KEY["cart"]
    if event_type in BROWSING:
        return BY_KEY["browsing"]
    if event_type.startswith("email."):
        return BY_KEY["email"]
    if event_type == "consent.changed":
        return BY_KEY["consent"]
    if event_type.startswith("customer."):
        return BY_KEY["profile"]
    if event_type.startswith("custom."):
        return BY_KEY["custom"]
    return None


def timeline(customer: Customer, kind: str | None, page: str | None) -> dict:
    events = Event.objects.filter(customer=customer)
    counts = events.aggregate(all=Count("pk"), **{k.key: Count("pk", filter=k.where) for k in KINDS})
    chosen = BY_KEY.get(kind or "")
    if chosen is not None:
        events = events.filter(chosen.where)
    paged = Paginator(events.order_by("-occurred_at", "-id"), PAGE_SIZE).get_page(page)
    rows = [{"event": e, "text": describe_event(e), "kind": kind_of(e.type)} for e in paged.object_list]
    filters = [{"key": "", "label": "All", "count": counts["all"], "active": chosen is None}] + [
        {"key": k.key, "label": k.label, "count": counts[k.key], "active": chosen is k} for k in KINDS if counts[k.key]]
    return {"page": paged, "rows": rows, "filters": filters, "kind": chosen.key if chosen else ""}


def messages(customer: Customer) -> dict:
    from campaigns.models import Message, SentCopy

    rows = (Message.objects.filter(customer=customer).select_related("campaign", "flow", "step", "template")
            .annotate(has_copy=Exists(SentCopy.objects.filter(message_id=OuterRef("pk")))).order_by("-id"))
    return {"rows": list(rows[:LIST_LIMIT]), "count": rows.count()}


def flows(customer: Customer) -> list:
    from campaigns.models import Enrollment, FlowDecision

    decisions = Prefetch("decisions", queryset=FlowDecision.objects.select_related("step").order_by("at", "id"))
    return list(Enrollment.objects.filter(customer=customer).select_related("flow").prefetch_related(decisions)
                .order_by("-entered_at", "-id")[:LIST_LIMIT])


def segments(customer: Customer) -> dict:
    from segments.models import SegmentMembership

    stays = list(SegmentMembership.objects.filter(customer=customer).select_related("segment")
                 .order_by("-entered_at", "-id")[: LIST_LIMIT * 2])
    return {"current": [s for s in stays if s.exited_at is None], "past": [s for s in stays if s.exited_at]}


def prediction_text(customer: Customer) -> str:
    from segments.predictions.models import CustomerPrediction

    return CustomerPrediction.objects.filter(customer=customer).values_list("explanation", flat=True).first() or ""


def profile_context(request, customer: Customer) -> dict:
    tab = request.GET.get("tab") or "activity"
    if tab not in dict(TABS):
        tab = "activity"
    return {
        "profile_tab": tab, "profile_tabs": TABS, "profile_customer": customer,
        "timeline": timeline(customer, request.GET.get("kind"), request.GET.get("timeline_page")),
        "profile_messages": messages(customer), "profile_flows": flows(customer),
        "profile_segments": segments(customer),
        "profile_prediction": prediction_text(customer),
    }
