"""Signup forms through real HTTP: the collect side's protections, single and double opt-in, the
evidence in the consent ledger, the identity rule, the welcome flow, and the form's numbers."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from campaigns.flows.engine import advance_due_enrollments
from campaigns.flows.prebuilt import install_prebuilt_flows
from campaigns.models import Enrollment, Suppression
from campaigns.sender import send_due_messages
from integrations.storefront.signup.models import FormDay, Submission
from shopconnect.timeline.consent import history
from shopconnect.timeline.models import Customer, Event
from shopconnect.timeline.record import record_events


def _link(message) -> str:
    html = next(content for content, kind in message.alternatives if kind == "text/html")
    target = re.search(r'href="([^"]+)"', html).group(1)
    return target


def _follow(client, url: str):
    """The confirmation link goes through our click redirect to the signed confirmation page."""
    path = url.split("shopconnect.test", 1)[1]
    response = client.get(path)
    if response.status_code in (301, 302):
        path = response["Location"].split("shopconnect.test", 1)[-1]
        response = client.get(path)
    return path, response


def test_the_storefront_gets_enabled_forms_only_with_cors(client, woo, popup):
    response = client.get(f"/collect/{woo.collect_key}/forms/")
    assert response.status_code == 200 and response["Access-Control-Allow-Origin"] == "*"
    (form,) = response.json()["forms"]
    assert form["headline"] == popup.headline and form["fields"] == ["first_name"]
    assert form["consent"] == "Yes, email me offers. Unsubscribe any time."
    assert response.json()["checkout"] is None
    assert client.get("/collect/nope/forms/").status_code == 404


def test_double_opt_in_sends_a_confirmation_whose_link_subscribes_and_starts_the_welcome_flow(
        client, woo, popup, opt_in, sign_up):
    opt_in(woo, "double")
    (welcome,) = install_prebuilt_flows(woo, ["welcome"], enable=("welcome",))
    answer = sign_up(woo, popup.pk, "Mia@Example.com", fields={"first_name": "Mia"})
    assert answer.status_code == 202 and answer["Access-Control-Allow-Origin"] == "*"
    assert answer.json()["message"] == popup.success_text
    customer = Customer.objects.get(store=woo, email="mia@example.com")
    assert customer.email_consent == "pending" and customer.first_name == ""  # typed text waits for the proof
    send_due_messages()
    (confirmation,) = mail.outbox
    assert confirmation.to == ["mia@example.com"]
    assert confirmation.subject == "Please confirm your subscription to Linen & Co"
    assert "List-Unsubscribe" not in confirmation.extra_headers and "Mia" not in confirmation.body
    path, page = _follow(client, _link(confirmation))
    assert page.status_code == 200 and "Yes, subscribe me" in page.content.decode()
    customer.refresh_from_db()
    assert customer.email_consent == "pending"  # following the link (a mail scanner) changes nothing
    done = client.post(path, REMOTE_ADDR="198.51.100.4")
    assert "You are subscribed" in done.content.decode()
    customer.refresh_from_db()
    assert customer.email_consent == "subscribed" and customer.first_name == "Mia"
    latest, pending = history(customer)
    assert pending.properties["state"] == "pending" and pending.properties["source"] == "signup_form"
    assert latest.properties["source"] == "double_opt_in" and latest.properties["opt_in_level"] == "confirmed_opt_in"
    evidence = latest.properties["evidence"]
    assert evidence["form_name"] == "Welcome popup" and evidence["ip"] == "203.0.113.7"
    assert evidence["confirm_ip"] == "198.51.100.4" and "Yes, email me offers" in evidence["wording"]
    assert evidence["page_url"] == "https://shop.example/products/linen-shirt" and evidence["submitted_at"]
    client.post(path)  # a second click records nothing more
    assert history(customer).count() == 2

    assert Enrollment.objects.filter(flow=welcome, customer=customer).exists()
    advance_due_enrollments()
    send_due_messages()
    assert [m.subject for m in mail.outbox][1:] == ["Welcome to Linen & Co"]
    day = FormDay.objects.get(form=popup)
    assert (day.views, day.submissions, day.confirmations) == (1, 1, 1)


def test_single_opt_in_subscribes_a_new_address_at_once(woo, popup, opt_in, sign_up):
    opt_in(woo, "single")
    assert sign_up(woo, popup.pk, "leo@example.com", fields={"first_name": "Leo"}).status_code == 202
    customer = Customer.objects.get(store=woo, email="leo@example.com")
    assert customer.email_consent == "subscribed" and customer.first_name == "Leo"
    (entry,) = history(customer)
    assert entry.properties["opt_in_level"] == "single_opt_in" and entry.source == "storefront"
    send_due_messages()
    assert mail.outbox == []


def test_a_known_customer_is_not_changed_by_a_claim_and_must_confirm(woo, popup, opt_in, sign_up, make_event):
    opt_in(woo, "single")
    record_events(woo, [make_event("customer.created", email="ann@example.com", profile={"first_name": "Ann"},
                                   source="woocommerce"),
                        make_event("consent.changed", email="ann@example.com", source="email",
                                   properties={"channel": "email", "state": "unsubscribed",
                                               "source": "unsubscribe_link"})])
    Suppression.objects.create(store=woo, email="ann@example.com", reason="unsubscribe")
    assert sign_up(woo, popup.pk, "ann@example.com", fields={"first_name": "Spam"}).status_code == 202
    ann = Customer.objects.get(store=woo, email="ann@example.com")
    assert ann.email_consent == "unsubscribed" and ann.first_name == "Ann"
    assert history(ann).count() == 1
    send_due_messages()  # the confirmation goes despite her unsubscribe (it is not marketing)
    (confirmation,) = mail.outbox
    assert confirmation.to == ["ann@example.com"] and "Spam" not in confirmation.body
    # a second signup within a day sends nothing more (no inbox flooding)
    assert sign_up(woo, popup.pk, "ann@example.com", remote_addr="203.0.113.8").status_code == 202
    send_due_messages()
    assert len(mail.outbox) == 1
    assert Submission.objects.filter(status="throttled").count() == 1


@pytest.mark.parametrize("trick", ["honeypot", "too_fast", "no_token"])
def test_bots_are_answered_like_people_and_recorded_nowhere(woo, popup, sign_up, trick):
    extra = {"website": "http://spam.example"} if trick == "honeypot" else {}
    wait = 0.5 if trick == "too_fast" else 5
    if trick == "no_token":
        extra["token"] = ""
    answer = sign_up(woo, popup.pk, "bot@example.com", wait=wait, **extra)
    assert answer.status_code == 202
    assert not Customer.objects.filter(email="bot@example.com").exists() and not Submission.objects.exists()
    assert FormDay.objects.get(form=popup).blocked == 1


def test_bad_input_is_a_clear_400_and_an_unknown_form_or_key_404(client, woo, popup, sign_up, make_store):
    bad = sign_up(woo, popup.pk, "not-an-address")
    assert bad.status_code == 400 and bad.json()["errors"]["email"] == "Enter a valid email address."
    name = sign_up(woo, popup.pk, "x@example.com", fields={"first_name": "visit http://spam.example"})
    assert name.status_code == 400 and "first_name" in name.json()["errors"]
    other = make_store(platform="woocommerce")
    assert sign_up(other, popup.pk).status_code == 404  # another store's form
    popup.enabled = False
    popup.save()
    assert sign_up(woo, popup.pk).status_code == 404
    assert client.post("/collect/nope/forms/1/submit", data=b"{}", content_type="text/plain").status_code == 404
    assert not Event.objects.exists()


def test_submissions_are_rate_limited_per_client(woo, popup, sign_up, settings):
    settings.SIGNUP_RATE_LIMIT_PER_MINUTE = 2
    codes = [sign_up(woo, popup.pk, f"p{i}@example.com").status_code for i in range(3)]
    assert codes == [202, 202, 429]
    assert Submission.objects.count() == 2


def test_the_checkout_checkbox_records_a_signup_with_its_wording(client, woo, opt_in, sign_up):
    assert sign_up(woo, "checkout").status_code == 404  # not offered until the store turns it on
    opt_in(woo, "single", checkout_optin=True, checkout_optin_label="Send me the newsletter")
    assert client.get(f"/collect/{woo.collect_key}/forms/").json()["checkout"] == {"label": "Send me the newsletter"}
    assert sign_up(woo, "checkout", "buyer@example.com").status_code == 202
    buyer = Customer.objects.get(store=woo, email="buyer@example.com")
    (entry,) = history(buyer)
    assert entry.properties["source"] == "checkout" and entry.properties["evidence"]["wording"] == \
        "Send me the newsletter"
