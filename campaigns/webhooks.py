"""Provider tracking webhooks: anymail's own views, refused unless the operator configured their secret.

Each supported provider posts to ``/anymail/<esp>/tracking/``, served by django-anymail's view for that
provider, which checks the credential (basic auth, or the provider's signature) and sends the
``tracking`` signal that ``campaigns.feedback`` maps. Anymail itself accepts unauthenticated posts when
no ``WEBHOOK_SECRET`` is set (with a warning), and answers 500 for Mailgun without a signing key; here a
provider whose credential is not configured is refused with 403 before anymail's view is built, so a
tracking event is never trusted without proof, and a JSON body is read through ``shopconnect.inputs``
first (malformed or nested past its limit: 400, where anymail's own parsing would answer 500).

What counts as configured, per provider (anymail's setting names; ``shopconnect/settings.py`` reads them
from the environment as ``ANYMAIL_<NAME>``):

==============  ===========================================================================
mailgun         ``MAILGUN_WEBHOOK_SIGNING_KEY`` (HMAC signature; ``WEBHOOK_SECRET`` is checked too if set)
sendgrid        ``SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY`` (signed event webhook) or ``WEBHOOK_SECRET``
resend          ``RESEND_SIGNING_SECRET`` (Svix signature) or ``WEBHOOK_SECRET``
amazon_ses      ``WEBHOOK_SECRET`` (anymail does not verify SNS signatures), and the SNS topic must be
                one of ``AMAZON_SES_TOPIC_ARNS`` when that list is set (ours: anymail has no topic check)
postmark, brevo, mailjet, sparkpost   ``WEBHOOK_SECRET`` (basic auth)
==============  ===========================================================================
"""

from __future__ import annotations

import logging

from anymail.utils import get_anymail_setting
from django.conf import settings
from django.core.checks import Tags, Warning, register
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils.module_loading import import_string
from django.views.decorators.csrf import csrf_exempt

from shopconnect import inputs

log = logging.getLogger(__name__)

# url slug -> (anymail's tracking view, anymail's esp_name, the settings any one of which authenticates it)
TRACKING_VIEWS: dict[str, tuple[str, str, tuple[tuple[str, str | None], ...]]] = {
    "amazon_ses": ("anymail.webhooks.amazon_ses.AmazonSESTrackingWebhookView", "Amazon SES",
                   (("webhook_secret", None),)),
    "brevo": ("anymail.webhooks.brevo.BrevoTrackingWebhookView", "Brevo", (("webhook_secret", None),)),
    "mailgun": ("anymail.webhooks.mailgun.MailgunTrackingWebhookView", "Mailgun",
                (("webhook_signing_key", "Mailgun"),)),
    "mailjet": ("anymail.webhooks.mailjet.MailjetTrackingWebhookView", "Mailjet", (("webhook_secret", None),)),
    "postmark": ("anymail.webhooks.postmark.PostmarkTrackingWebhookView", "Postmark", (("webhook_secret", None),)),
    "resend": ("anymail.webhooks.resend.ResendTrackingWebhookView", "Resend",
               (("signing_secret", "Resend"), ("webhook_secret", None))),
    "sendgrid": ("anymail.webhooks.sendgrid.SendGridTrackingWebhookView", "SendGrid",
                 (("tracking_webhook_verification_key", "SendGrid"), ("webhook_secret", None))),
    "sparkpost": ("anymail.webhooks.sparkpost.SparkPostTrackingWebhookView", "SparkPost",
                  (("webhook_secret", None),)),
}


def is_configured(slug: str) -> bool:
    """True if one of the credentials that authenticate this provider's webhook is set (anymail's lookup)."""
    _, _, needs = TRACKING_VIEWS[slug]
    return any(get_anymail_setting(name, esp_name=esp, default=None)
               for name, esp in needs)


@register(Tags.security)
def tracking_webhooks_configured(app_configs, **kwargs) -> list[Warning]:
    """With DEBUG off, say so when no provider's tracking webhook can be used (each would be refused)."""
    if settings.DEBUG or any(is_configured(slug) for slug in TRACKING_VIEWS):
        return []
    return [Warning("No email provider tracking webhook secret is set: every /anymail/<esp>/tracking/ post is "
                    "refused, so bounces and complaints are not recorded.",
                    hint="Set ANYMAIL_WEBHOOK_SECRET (and the provider's signing key where it has one); see README, "
                         "Tracking webhooks: which secret to set.", id="campaigns.W001")]


def refused(text: str, status: int = 403) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


def _ses_topic_allowed(body) -> bool:
    """With ``AMAZON_SES_TOPIC_ARNS`` set, only SNS messages from those topics (notifications and
    subscription confirmations alike) reach anymail."""
    topics = set(getattr(settings, "AMAZON_SES_TOPIC_ARNS", ()) or ())
    return not topics or (isinstance(body, dict) and body.get("TopicArn") in topics)


def tracking_view(slug: str):
    view_path, esp_name, _ = TRACKING_VIEWS[slug]

    @csrf_exempt
    def view(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method not in ("POST", "HEAD", "OPTIONS"):
            return HttpResponse(status=405)
        if not is_configured(slug):
            log.warning("%s tracking webhook refused: no webhook secret is configured", esp_name)
            return refused(f"{esp_name} tracking webhook refused: no webhook secret or signing key is configured "
                           "on this server (see README, Tracking webhooks: which secret to set).")
        body = None
        if request.method == "POST" and (slug == "amazon_ses" or request.content_type == "application/json"):
            try:  # bounded before anymail parses it (deep nesting would be a 500 there)
                body = inputs.loads(request.body)
            except inputs.BadInput as exc:
                return refused(f"{esp_name} tracking webhook refused: {exc}", status=400)
        if slug == "amazon_ses" and request.method == "POST" and not _ses_topic_allowed(body):
            log.warning("Amazon SES tracking webhook refused: SNS topic not in AMAZON_SES_TOPIC_ARNS")
            return refused("Amazon SES tracking webhook refused: unknown SNS topic.")
        return import_string(view_path).as_view()(request, *args, **kwargs)

    return view


urlpatterns = [path(f"{slug}/tracking/", tracking_view(slug), name=f"{slug}_tracking_webhook")
               for slug in TRACKING_VIEWS]
