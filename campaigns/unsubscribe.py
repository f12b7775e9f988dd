"""Unsubscribe and preferences (``GET``/``POST /u/<token>/``), per RFC 8058.

- ``POST`` with body ``List-Unsubscribe=One-Click`` (what mailbox providers send) unsubscribes at once:
  no cookies, no CSRF token (the signed token in the URL is the authority).
- ``GET`` only shows a page (mail scanners follow links: a GET never changes anything) with buttons
  that POST: unsubscribe, or "fewer emails" (at most one marketing email a week).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from shopconnect.timeline.models import Consent, Customer

from .consent import set_frequency, unsubscribe
from .models import EmailPreference, Message
from .tokens import BadToken, read_unsubscribe_token


def _message_ids(message_id: int | None, customer: Customer) -> dict:
    from .sender import event_ids

    message = Message.objects.filter(pk=message_id, customer=customer).first() if message_id else None
    return event_ids(message) if message else {"message_id": ""}


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        store_id, customer_id, message_id = read_unsubscribe_token(token)
    except BadToken:
        return render(request, "campaigns/unsubscribe.html", {"invalid": True}, status=404)
    customer = Customer.objects.select_related("store").filter(pk=customer_id, store_id=store_id).first()
    if customer is None:
        return render(request, "campaigns/unsubscribe.html", {"invalid": True}, status=404)
    done = ""
    if request.method == "POST":
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        action = "unsubscribe" if one_click else request.POST.get("action", "")
        if action == "unsubscribe":
            if customer.email_consent != Consent.UNSUBSCRIBED:
                unsubscribe(customer, "unsubscribe_link", _message_ids(message_id, customer))
            done = "unsubscribed"
        elif action == "fewer":
            set_frequency(customer, True)
            done = "fewer"
        else:
            return render(request, "campaigns/unsubscribe.html",
                          {"customer": customer, "error": "Choose an option."}, status=400)
        if one_click:
            return HttpResponse("unsubscribed", content_type="text/plain")
        customer.refresh_from_db()
    fewer = EmailPreference.objects.filter(customer=customer, fewer_emails=True).exists()
    return render(request, "campaigns/unsubscribe.html", {
        "customer": customer, "store": customer.store, "done": done, "fewer": fewer,
        "unsubscribed": customer.email_consent == Consent.UNSUBSCRIBED,
    })
