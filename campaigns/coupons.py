"""Unique discount codes: created on the store's platform once per recipient and message, at send time.

A template with ``unique_code`` set gives every message its own code (``{{ discount_code }}``):

- ``code_for(message, template)`` (the sender, right before rendering): the message's ``UniqueCode`` row,
  written first with a fresh random code (state ``pending``: the database's one-row-per-message constraint
  makes a second worker or a retry find the same row), then created on the platform through the store's
  adapter (``PlatformAdapter.create_discount_code``: Shopify ``discountCodeBasicCreate``, WooCommerce
  ``POST /wc/v3/coupons``; both only to the store's checked host). A retried send reuses the row and its
  code; if the platform answers that it has the code already (our earlier attempt, answer lost), it is
  taken as created. A code that cannot be created raises ``CodeUnavailable``: the email is not sent
  without its code (transient failures are retried by the sender, the others fail with the reason).
- ``mark_redeemed`` (on new ``order.placed`` events): an order whose discount codes include an issued
  code marks it redeemed with the order's id and total (``integrations.orders``: every platform's orders
  carry ``discount_codes``).
- ``code_rows``: issued, redeemed and the revenue of the orders that used them, in SQL, for the reports.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from integrations.base import DiscountCodeError, DiscountCodeTaken, DiscountRequest
from integrations.registry import get_adapter
from shopconnect.timeline.models import Event

from .models import EmailTemplate, Message, UniqueCode

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are typed by people
RANDOM_CHARS = 8
SAMPLE = "SAMPLE42"


class CodeUnavailable(Exception):  # noqa: N818 - an outcome of the send, with the reason
    def __init__(self, reason: str, *, transient: bool):
        super().__init__(reason)
        self.transient = transient


def new_code(prefix: str = "") -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_CHARS))
    return f"{prefix}-{body}" if prefix else body


def sample_code(template_or_prefix) -> str:
    """What previews and test sends show in place of a unique code (never created anywhere)."""
    prefix = getattr(template_or_prefix, "code_prefix", template_or_prefix) or ""
    return f"{prefix}-{SAMPLE}" if prefix else SAMPLE


def _row(message: Message, template: EmailTemplate) -> UniqueCode:
    existing = UniqueCode.objects.filter(message=message).first()
    if existing is not None:
        return existing
    now = timezone.now()
    for _ in range(3):
        try:
            with transaction.atomic():
                return UniqueCode.objects.create(
                    store_id=message.store_id, message=message, customer_id=message.customer_id,
                    code=new_code(template.code_prefix), discount_type=template.code_discount_type,
                    value=template.code_value, minimum_order=template.code_minimum_order,
                    once_per_customer=template.code_once_per_customer,
                    expires_at=now + timedelta(days=template.code_valid_days) if template.code_valid_days else None)
        except IntegrityError:
            existing = UniqueCode.objects.filter(message=message).first()
            if existing is not None:  # another worker wrote it first
                return existing
    raise CodeUnavailable("could not draw a code the store does not have yet", transient=True)


def code_for(message: Message, template: EmailTemplate | None) -> str | None:
    """The message's unique code, created on the platform if it is not yet; None when the template asks
    for none. Raises ``CodeUnavailable``."""
    if template is None or not template.unique_code:
        return None
    row = _row(message, template)
    if row.state != UniqueCode.State.CREATED:
        store = message.store
        adapter = get_adapter(store.platform)
        if adapter is None:
            raise CodeUnavailable(f"unique code: no platform adapter for {store.platform}", transient=False)
        customer = message.customer
        request = DiscountRequest(
            code=row.code, title=f"ShopConnect: {template.name} (message {message.pk})", kind=row.discount_type,
            value=row.value, starts_at=row.created_at, expires_at=row.expires_at, minimum_order=row.minimum_order,
            once_per_customer=row.once_per_customer, customer_email=customer.email or "",
            customer_external_id=customer.external_id or "")
        try:
            row.platform_id = adapter.create_discount_code(store, request)[:255]
        except DiscountCodeTaken:
            pass  # our own earlier attempt created it
        except DiscountCodeError as exc:
            UniqueCode.objects.filter(pk=row.pk).update(note=str(exc)[:300])
            raise CodeUnavailable(f"unique code not created: {exc}", transient=exc.transient) from None
        except Exception as exc:  # noqa: BLE001 - an answer nobody expected stays with this message (retried)
            raise CodeUnavailable(f"unique code not created: {type(exc).__name__}", transient=True) from None
        row.state, row.issued_at, row.note = UniqueCode.State.CREATED, timezone.now(), ""
        row.save(update_fields=["state", "issued_at", "platform_id", "note"])
    message.context = {**(message.context or {}), "discount_code": row.code}
    return row.code


def mark_redeemed(store_id: int, event_ids: Sequence[int]) -> int:
    """Task: issued codes used by the new orders among ``event_ids`` become redeemed (first order wins)."""
    used: dict[str, tuple] = {}
    for properties, order_ref, amount, at in Event.objects.filter(
            id__in=event_ids, store_id=store_id, type="order.placed").order_by("occurred_at", "id").values_list(
            "properties", "order_ref", "amount", "occurred_at"):
        for code in (properties or {}).get("discount_codes") or []:
            if isinstance(code, str) and code.strip():
                used.setdefault(code.strip().upper(), (order_ref or "", amount, at))
    count = 0
    for code, (order_ref, amount, at) in used.items():
        count += UniqueCode.objects.filter(store_id=store_id, code=code, state=UniqueCode.State.CREATED,
                                           redeemed_at__isnull=True).update(
            redeemed_at=at, order_ref=order_ref[:64], order_total=amount)
    return count


def on_events_recorded(sender, store, result, **kwargs) -> None:
    if not any("order.placed" in types for types in result.types_by_customer.values()):
        return
    if not UniqueCode.objects.filter(store=store, state=UniqueCode.State.CREATED).exists():
        return
    from django_q.tasks import async_task

    async_task("campaigns.coupons.mark_redeemed", store.pk, list(result.event_ids))


def connect() -> None:
    from shopconnect.timeline.record import events_recorded

    events_recorded.connect(on_events_recorded, dispatch_uid="campaigns.coupons")


def code_rows(store_id: int, *, by: str, dates=None, **filters) -> list[dict]:
    """Issued codes, redeemed ones and the revenue of the orders that used them, grouped by ``by`` (a
    ``UniqueCode`` lookup such as ``"message__step__name"``); ``dates`` (a report ``DateRange``) limits to
    codes issued in those days. One query."""
    rows = UniqueCode.objects.filter(store_id=store_id, state=UniqueCode.State.CREATED, **filters)
    if dates is not None:
        rows = rows.filter(issued_at__gte=dates.start, issued_at__lt=dates.end)
    grouped = (rows.values(by).order_by(by).annotate(
        issued=Count("id"), redeemed=Count("id", filter=Q(redeemed_at__isnull=False)),
        revenue=Sum("order_total", filter=Q(redeemed_at__isnull=False))))
    return [{"group": row[by] or "(all recipients)", "issued": row["issued"], "redeemed": row["redeemed"],
             "redemption_rate": row["redeemed"] / row["issued"] if row["issued"] else None,
             "revenue": row["revenue"] or 0} for row in grouped]
