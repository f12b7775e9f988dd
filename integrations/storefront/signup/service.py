"""What a signup does, once the collect side has accepted and stored it (``process_submission``), and
what following the confirmation link does (``confirm``).

Identity: a submission is a visitor's claim. It may create a new profile (an address the store does not
know yet), never change a known customer: for an address the store already knows, nothing is recorded
on that customer until the confirmation link in the email sent to that address is followed, which is the
proof that may subscribe them (whatever the store's opt-in mode). The other fields a visitor types
(first name...) are applied only to a profile the signup created, and only once it is confirmed under
double opt-in, so the confirmation email never carries text someone typed about another person.

Ledger: every signup records ``consent.changed`` through ``shopconnect.timeline.consent`` with the form,
the page, the time, the IP address and the wording shown (``evidence``): ``pending`` (source
``signup_form`` or ``checkout``) while a confirmation is awaited, ``subscribed`` with opt-in level
``single_opt_in`` (single opt-in, new address) or ``confirmed_opt_in`` (source ``double_opt_in``, with
the confirmation's time and IP address added). Dedupe keys come from the submission's id, so a retried
task or a double click records one change. The welcome flow triggers on the ``subscribed`` event.

Cost: at most one confirmation email per address and store per ``CONFIRM_INTERVAL``.
"""

from __future__ import annotations

import logging
import traceback
from datetime import date, timedelta

from django.core import signing
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from campaigns.models import EmailTemplate, Message, Suppression
from campaigns.outbox import enqueue, message_key
from campaigns.tokens import absolute
from shopconnect.timeline.consent import consent_event
from shopconnect.timeline.models import Consent, Customer
from shopconnect.timeline.record import record_events

from .models import FormDay, SignupSettings, Submission

log = logging.getLogger(__name__)
CONFIRM_SALT = "sc.signup.confirm"
CONFIRM_MAX_AGE = timedelta(days=7)
CONFIRM_INTERVAL = timedelta(hours=24)
EVENT_SOURCE = "storefront"

CONFIRMATION_SUBJECT = "Please confirm your subscription to {{ store.name }}"
CONFIRMATION_HTML = """<html><body style="font-family:Arial,sans-serif;color:#222">
<p>Please confirm that you want to receive emails from {{ store.name }}.</p>
<p><a href="{{ confirm_url }}" style="background:#1f6feb;color:#fff;padding:10px 16px;text-decoration:none;
border-radius:4px">Yes, subscribe me</a></p>
<p style="font-size:12px;color:#777">If you did not ask for this, ignore this email: you will not be subscribed
and we will not write again.</p></body></html>"""


def settings_for(store) -> SignupSettings:
    found, _ = SignupSettings.objects.get_or_create(store=store)
    return found


def confirmation_template(signup_settings: SignupSettings) -> EmailTemplate:
    """The store's confirmation email (created on first use, editable under Email templates)."""
    template = signup_settings.confirmation_template
    if template is None:
        template = EmailTemplate.objects.create(
            store=signup_settings.store, name="Signup confirmation (double opt-in)",
            subject=CONFIRMATION_SUBJECT, html=CONFIRMATION_HTML)
        SignupSettings.objects.filter(pk=signup_settings.pk).update(confirmation_template=template)
        signup_settings.confirmation_template = template
    return template


def count(form_id: int | None, field: str, day: date | None = None) -> None:
    """Add one to a form's counter for today (views, submissions, confirmations, blocked)."""
    if not form_id:
        return
    row, _ = FormDay.objects.get_or_create(form_id=form_id, day=day or timezone.now().date())
    FormDay.objects.filter(pk=row.pk).update(**{field: F(field) + 1})


def confirm_token(submission: Submission) -> str:
    return signing.dumps([submission.store_id, submission.pk], salt=CONFIRM_SALT)


def read_confirm_token(token: str) -> tuple[int, int] | None:
    try:
        value = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    except signing.BadSignature:  # forged, or older than CONFIRM_MAX_AGE (SignatureExpired)
        return None
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return value[0], value[1]
    return None


def confirm_url(submission: Submission) -> str:
    from django.urls import reverse

    return absolute(reverse("signup-confirm", args=[confirm_token(submission)]))


def evidence(submission: Submission) -> dict:
    form = submission.form
    found = {
        "submission_id": submission.pk, "kind": submission.kind, "page_url": submission.page_url,
        "ip": submission.ip, "user_agent": submission.user_agent[:200], "wording": submission.wording,
        "submitted_at": submission.submitted_at.isoformat(),
    }
    if form is not None:
        found.update(form_id=form.pk, form_name=form.name)
    if submission.confirmed_at:
        found.update(confirmed_at=submission.confirmed_at.isoformat(), confirm_ip=submission.confirm_ip)
    return found


def _signup_source(submission: Submission) -> str:
    return "checkout" if submission.kind == Submission.Kind.CHECKOUT else "signup_form"


def process_submission(submission_id: int) -> str:
    """The task: record the signup and, when it needs one, queue the confirmation email."""
    submission = Submission.objects.select_related("store", "form").filter(pk=submission_id).first()
    if submission is None or submission.status != Submission.Status.RECEIVED:
        return submission.status if submission else "missing"
    try:
        with transaction.atomic():
            status = _process(submission)
    except Exception as exc:  # noqa: BLE001 - recorded on the submission, visible in the admin
        submission.last_error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:4000]
        Submission.objects.filter(pk=submission.pk).update(status=Submission.Status.FAILED,
                                                           last_error=submission.last_error)
        log.warning("signup %s failed: %s", submission.pk, submission.last_error.splitlines()[-1])
        return Submission.Status.FAILED
    return status


def _process(submission: Submission) -> str:
    store = submission.store
    signup_settings = settings_for(store)
    known = Customer.objects.filter(store=store, email=submission.email).first()
    source = _signup_source(submission)
    if known is not None and known.email_consent == Consent.SUBSCRIBED:
        return _finish(submission, Submission.Status.ALREADY, known)
    common = {"ref": f"submission:{submission.pk}", "occurred_at": submission.submitted_at,
              "evidence": evidence(submission), "event_source": EVENT_SOURCE,
              "visitor_id": submission.client_id or None, "extra": {"signup_source": source}}
    if known is None and signup_settings.opt_in == SignupSettings.OptIn.SINGLE:
        record_events(store, [consent_event(
            Consent.SUBSCRIBED, source, email=submission.email, opt_in_level="single_opt_in",
            profile=dict(submission.fields) or None, **common)])
        customer = Customer.objects.get(store=store, email=submission.email)
        return _finish(submission, Submission.Status.SUBSCRIBED, customer, new_profile=True)
    new_profile = known is None
    if new_profile:  # a new profile, pending its confirmation (no typed fields yet: see the module doc)
        record_events(store, [consent_event(Consent.PENDING, source, email=submission.email, **common)])
        known = Customer.objects.get(store=store, email=submission.email)
    recent = Submission.objects.filter(
        store=store, email=submission.email, status=Submission.Status.AWAITING,
        submitted_at__gte=submission.submitted_at - CONFIRM_INTERVAL).exclude(pk=submission.pk)
    if recent.exists():
        return _finish(submission, Submission.Status.THROTTLED, known, new_profile=new_profile)
    enqueue([Message(
        store=store, customer=known, template=confirmation_template(signup_settings), marketing=False,
        idempotency_key=message_key("signup", submission.pk, "confirmation"),
        context={"confirm_url": confirm_url(submission), "skip_smart_sending": True},
    )])
    return _finish(submission, Submission.Status.AWAITING, known, new_profile=new_profile)


def _finish(submission: Submission, status: str, customer: Customer, new_profile: bool = False) -> str:
    Submission.objects.filter(pk=submission.pk).update(status=status, customer=customer, last_error="",
                                                       new_profile=new_profile)
    if status == Submission.Status.SUBSCRIBED:
        count(submission.form_id, "confirmations")
    return status


def confirm(submission: Submission, ip: str) -> bool:
    """Following the link: the proof. Subscribes the customer; True when this call did it."""
    if submission.customer_id is None:
        return False
    with transaction.atomic():
        first = Submission.objects.filter(pk=submission.pk, confirmed_at__isnull=True).update(
            confirmed_at=timezone.now(), confirm_ip=ip[:64], status=Submission.Status.SUBSCRIBED)
        submission.refresh_from_db()
        customer = submission.customer
        profile = {k: v for k, v in (submission.fields or {}).items() if not getattr(customer, k, "x")}
        record_events(submission.store, [consent_event(
            Consent.SUBSCRIBED, "double_opt_in", ref=f"submission:{submission.pk}",
            occurred_at=submission.confirmed_at, evidence=evidence(submission), event_source=EVENT_SOURCE,
            opt_in_level="confirmed_opt_in", customer_id=customer.pk,
            profile=(profile or None) if submission.new_profile else None,
            extra={"signup_source": _signup_source(submission)},
        )])
        # A proven resubscription lifts their own earlier unsubscribe (bounces and complaints stay).
        Suppression.objects.filter(store=submission.store, email=customer.email,
                                   reason=Suppression.Reason.UNSUBSCRIBE).delete()
    if first:
        count(submission.form_id, "confirmations")
    return bool(first)
