"""Every supported provider end to end at the HTTP level (issue 17): a send through the provider's API
(faked with ``responses``; Amazon SES through a loopback server that answers the SESv2 SendEmail call that
botocore signs and posts), then the provider's own authenticated tracking posts for a soft and a hard
bounce, in the payload shapes of django-anymail's tests (tests/test_<esp>_webhooks.py; SendGrid's
``blocked`` bounce and Resend's ``bounce.type`` from the providers' event documentation).

A soft bounce is recorded as soft and suppresses nothing; a hard bounce suppresses the address."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import responses
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from svix.webhooks import Webhook

from campaigns.models import EmailProvider, Message, Suppression
from campaigns.outbox import enqueue
from campaigns.sender import send_due_messages
from shopconnect.timeline.models import Event

EMAIL = "ana@example.com"
BASIC = "hook:pass"
MAILGUN_KEY = "key-mailgun-signing"
RESEND_SECRET = "whsec_" + base64.b64encode(b"resend-signing-secret").decode()
SENDGRID_PRIVATE = ec.generate_private_key(ec.SECP256R1())
SENDGRID_PUBLIC = base64.b64encode(SENDGRID_PRIVATE.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()


def basic_auth() -> dict:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(BASIC.encode()).decode()}


# --- the providers' send APIs --------------------------------------------------------------------------

SENDS = {  # kind: (credentials, API URL, fake answer (status, json), the provider message id it yields)
    "postmark": ({"server_token": "pm-token"}, "https://api.postmarkapp.com/email",
                 (200, {"To": EMAIL, "SubmittedAt": "2026-03-02T15:00:00Z", "MessageID": "pm-abc-123",
                        "ErrorCode": 0, "Message": "OK"}), "pm-abc-123"),
    "sendgrid": ({"api_key": "SG.key"}, "https://api.sendgrid.com/v3/mail/send", (202, None), None),
    "mailgun": ({"api_key": "mg-key"}, "https://api.mailgun.net/v3/outdoor.example/messages",
                (200, {"id": "<20260302150000.1.ABC@outdoor.example>", "message": "Queued. Thank you."}),
                "<20260302150000.1.ABC@outdoor.example>"),
    "brevo": ({"api_key": "xkeysib"}, "https://api.brevo.com/v3/smtp/email",
              (201, {"messageId": "<202603021500.123@smtp-relay.mailin.fr>"}),
              "<202603021500.123@smtp-relay.mailin.fr>"),
    "resend": ({"api_key": "re_key"}, "https://api.resend.com/emails",
               (200, {"id": "49a3999c-0ce1-4ea6-ab68-afcd6dc2e794"}), "49a3999c-0ce1-4ea6-ab68-afcd6dc2e794"),
    "mailjet": ({"api_key": "mj-key", "secret_key": "mj-secret"}, "https://api.mailjet.com/v3.1/send",
                (200, {"Messages": [{"Status": "success", "CustomID": "", "To": [{
                    "Email": EMAIL, "MessageUUID": "cb927469-36fd-4c02-bce4-0d199929a207",
                    "MessageID": 12345678901234567,
                    "MessageHref": "https://api.mailjet.com/v3/REST/message/12345678901234567"}],
                    "Cc": [], "Bcc": []}]}), "12345678901234567"),
    "sparkpost": ({"api_key": "sp-key"}, "https://api.sparkpost.com/api/v1/transmissions/",
                  (200, {"results": {"total_rejected_recipients": 0, "total_accepted_recipients": 1,
                                     "id": "11668787484950529"}}), "11668787484950529"),
}


@pytest.fixture
def use(shop):
    def configure(kind: str, credentials: dict) -> EmailProvider:
        provider = shop.email_provider
        provider.kind, provider.credentials, provider.smart_sending_hours = kind, json.dumps(credentials), 0
        provider.save()
        return provider

    return configure


@pytest.fixture
def send_one(shop, subscribe, template):
    def send() -> Message:
        customer = subscribe(shop, EMAIL)
        enqueue([Message(store=shop, customer=customer, template=template, idempotency_key="k")])
        assert send_due_messages()["sent"] == 1
        return Message.objects.get()

    return send


@pytest.mark.parametrize("kind", sorted(SENDS))
@responses.activate
def test_a_send_through_each_providers_api_carries_the_random_reference(kind, use, send_one):
    credentials, url, (status, answer), provider_id = SENDS[kind]
    use(kind, credentials)
    responses.post(url, status=status, json=answer)
    message = send_one()
    (call,) = responses.calls
    body = call.request.body.decode() if isinstance(call.request.body, bytes) else str(call.request.body)
    assert message.reference and message.reference in body  # the provider will echo it back
    assert f'"message_id": "{message.pk}"' not in body
    assert message.provider_message_id == (provider_id or message.provider_message_id) and message.provider_message_id


class _SESv2(BaseHTTPRequestHandler):
    """Amazon SES v2 ``SendEmail`` (POST /v2/email/outbound-emails) as AWS answers it."""

    requests: list[tuple[str, dict, bytes]] = []

    def do_POST(self):  # noqa: N802 (http.server hook name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).requests.append((self.path, dict(self.headers), body))
        answer = json.dumps({"MessageId": "010001877ec2b7c6-d8d8-4a5f-95ba-2b8ea5b0ba2f-000000"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_ses(monkeypatch, settings):
    server = HTTPServer(("127.0.0.1", 0), _SESv2)
    _SESv2.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_SESV2", f"http://127.0.0.1:{server.server_port}")
    settings.OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]  # the loopback fake stands in for email.<region>.amazonaws.com
    yield _SESv2.requests
    server.shutdown()
    server.server_close()


def test_a_send_through_amazon_ses_uses_the_sesv2_api(use, send_one, fake_ses):
    use("amazon_ses", {"access_key_id": "AKIAEXAMPLE", "secret_access_key": "secret", "region_name": "eu-west-1",
                       "configuration_set_name": "shopconnect-events"})
    message = send_one()
    ((path, headers, body),) = fake_ses
    assert path == "/v2/email/outbound-emails"
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/")
    assert "/eu-west-1/ses/aws4_request" in headers["Authorization"]
    assert json.loads(body)["ConfigurationSetName"] == "shopconnect-events"  # its event destination: our webhook
    raw = base64.b64decode(json.loads(body)["Content"]["Raw"]["Data"]).decode()
    assert f"X-Metadata: {{\"sc_ref\": \"{message.reference}\"}}" in raw
    assert message.provider_message_id == "010001877ec2b7c6-d8d8-4a5f-95ba-2b8ea5b0ba2f-000000"


# --- the providers' tracking posts ---------------------------------------------------------------------

def postmark(message, soft):
    return "postmark", {
        "RecordType": "Bounce", "ID": 4323372036854775807 if soft else 42,
        "Type": "SoftBounce" if soft else "HardBounce",
        "TypeCode": 4096 if soft else 1, "MessageID": message.provider_message_id, "Email": EMAIL,
        "BouncedAt": "2026-03-02T16:00:00Z", "Description": "Mailbox full" if soft else "No such user",
        "Details": "smtp;552 5.2.2 mailbox full" if soft else "smtp;550 5.1.1 user unknown",
        "Metadata": {"sc_ref": message.reference}}, basic_auth()


def sendgrid(message, soft):
    body = [{"email": EMAIL, "event": "bounce", "type": "blocked" if soft else "bounce",
             "status": "4.0.0" if soft else "5.1.1", "bounce_classification": "Reputation" if soft else "Invalid",
             "reason": "451 4.7.1 try again later" if soft else "550 5.1.1 The email account does not exist.",
             "sg_event_id": f"lC0Rc-FuQmKbnxCWxX1jR{int(soft)}", "sg_message_id": "Lli-03HcQ5-JLybO9fXsJg.filter0077",
             "smtp-id": "<wrfRRvF7Q0GgwUo2CvDmEA@ismtpd0006p1sjc2.sendgrid.net>", "tls": 1, "timestamp": 1772467200,
             "anymail_id": message.provider_message_id, "sc_ref": message.reference}]
    raw = json.dumps(body)
    timestamp = "1772467200"
    signature = SENDGRID_PRIVATE.sign(timestamp.encode() + raw.encode(), ec.ECDSA(hashes.SHA256()))
    return "sendgrid", raw, {**basic_auth(), "HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP": timestamp,
                             "HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE": base64.b64encode(signature).decode()}


def mailgun(message, soft):  # basic auth too: the operator set WEBHOOK_SECRET for all
    token, timestamp = f"06c96bafc3f42a66b9edd546347a2fe18dc23461fe80dc52f{int(soft)}", "1772467200"
    signature = hmac.new(MAILGUN_KEY.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return "mailgun", {"signature": {"token": token, "timestamp": timestamp, "signature": signature}, "event-data": {
        "event": "failed", "severity": "temporary" if soft else "permanent", "id": f"Fs7-5t81S2ms-j2{int(soft)}",
        "timestamp": 1772467200.0, "recipient": EMAIL, "recipient-domain": "example.com", "log-level": "error",
        "reason": "generic" if soft else "bounce",
        "delivery-status": {"code": 452 if soft else 550, "attempt-no": 1, "session-seconds": 0.5,
                            "message": "4.2.2 mailbox full" if soft else "5.1.1 user unknown",
                            "description": ""},
        "message": {"headers": {"message-id": message.provider_message_id.strip("<>"), "to": EMAIL,
                                "from": "hello@outdoor.example", "subject": message.subject}},
        "user-variables": {"sc_ref": message.reference}}}, basic_auth()


def amazon_ses(message, soft):
    ses_event = {
        "eventType": "Bounce",
        "bounce": {"bounceType": "Transient" if soft else "Permanent",
                   "bounceSubType": "MailboxFull" if soft else "General",
                   "bouncedRecipients": [{"emailAddress": EMAIL, "action": "failed",
                                          "status": "4.2.2" if soft else "5.1.1",
                                          "diagnosticCode": "smtp; 552 4.2.2 full" if soft else "smtp; 550 5.1.1 x"}],
                   "timestamp": "2026-03-02T16:00:00.000Z", "feedbackId": f"0102015fc9e676fb-{int(soft)}",
                   "reportingMTA": "dsn; e226-55.smtp-out.us-east-2.amazonses.com"},
        "mail": {"timestamp": "2026-03-02T15:59:59.000Z", "source": "hello@outdoor.example",
                 "messageId": message.provider_message_id, "destination": [EMAIL], "headersTruncated": False,
                 "headers": [{"name": "X-Metadata", "value": json.dumps({"sc_ref": message.reference})}]}}
    sns = {"Type": "Notification", "MessageId": f"19ba9823-d7f2-53c1-860e-cb10e0d13df{int(soft)}",
           "TopicArn": "arn:aws:sns:us-east-1:111111111111:shopconnect-ses",
           "Message": json.dumps(ses_event) + "\n", "Timestamp": "2026-03-02T16:00:00.675Z"}
    return "amazon_ses", sns, {**basic_auth(), "HTTP_X_AMZ_SNS_MESSAGE_TYPE": "Notification",
                               "HTTP_X_AMZ_SNS_MESSAGE_ID": sns["MessageId"]}


def brevo(message, soft):
    return "brevo", {"event": "soft_bounce" if soft else "hard_bounce", "email": EMAIL, "ts_epoch": 1772467200000,
                     "message-id": message.provider_message_id,
                     "reason": "undefined Unable to find MX of domain" if soft else
                     " RecipientError: 550 5.5.0 Requested action not taken: mailbox unavailable.",
                     "X-Mailin-custom": json.dumps({"sc_ref": message.reference})}, basic_auth()


def resend(message, soft):
    body = {"type": "email.bounced", "created_at": f"2026-03-02T16:00:0{int(soft)}.101Z", "data": {
        "email_id": message.provider_message_id, "from": "Outdoor Co <hello@outdoor.example>", "to": [EMAIL],
        "subject": message.subject, "created_at": "2026-03-02T15:59:59.729Z",
        "bounce": {"type": "Transient" if soft else "Permanent", "subType": "MailboxFull" if soft else "General",
                   "message": "The recipient's email provider sent a bounce message because the recipient's inbox "
                              "was full." if soft else "The recipient's email provider sent a hard bounce message."},
        "headers": [{"name": "X-Metadata", "value": json.dumps({"sc_ref": message.reference})}]}}
    raw = json.dumps(body)
    svix_id, now = f"msg_2Lh9KqrD0hc8D6RPNLZNqbCLgm{int(soft)}", datetime.now(tz=UTC)
    signature = Webhook(RESEND_SECRET).sign(msg_id=svix_id, timestamp=now, data=raw)
    return "resend", raw, {"HTTP_SVIX_ID": svix_id, "HTTP_SVIX_TIMESTAMP": str(int(now.timestamp())),
                           "HTTP_SVIX_SIGNATURE": signature, **basic_auth()}


def mailjet(message, soft):
    return "mailjet", [{"event": "bounce", "time": 1772467200, "MessageID": int(message.provider_message_id),
                        "email": EMAIL, "mj_campaign_id": 0, "mj_contact_id": 9876543210, "customcampaign": "",
                        "blocked": False, "hard_bounce": not soft, "error_related_to": "recipient",
                        "error": "quota exceeded" if soft else "user unknown",
                        "Payload": json.dumps({"sc_ref": message.reference})}], basic_auth()


def sparkpost(message, soft):
    return "sparkpost", [{"msys": {"message_event": {
        "type": "bounce", "bounce_class": "22" if soft else "10", "customer_id": "00000",
        "error_code": "552" if soft else "550", "event_id": f"8434531765349123{int(soft)}",
        "message_id": "0004e3724f57753a3561", "raw_rcpt_to": EMAIL, "rcpt_to": EMAIL,
        "raw_reason": "552 5.2.2 mailbox full" if soft else "550 5.1.1 <ana@example.com>: User unknown",
        "reason": "552 5.2.2 mailbox full" if soft else "550 5.1.1 ...@... User unknown",
        "timestamp": "1772467200", "transmission_id": message.provider_message_id,
        "rcpt_meta": {"sc_ref": message.reference}}}, "cust": {"id": "00000"}}], basic_auth()


TRACKING = {"postmark": postmark, "sendgrid": sendgrid, "mailgun": mailgun, "amazon_ses": amazon_ses,
            "brevo": brevo, "resend": resend, "mailjet": mailjet, "sparkpost": sparkpost}


@pytest.fixture
def webhooks_configured(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": [BASIC], "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY,
                        "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY": SENDGRID_PUBLIC,
                        "RESEND_SIGNING_SECRET": RESEND_SECRET}
    settings.AMAZON_SES_TOPIC_ARNS = ["arn:aws:sns:us-east-1:111111111111:shopconnect-ses"]


def post_tracking(client, kind, message, soft):
    slug, body, headers = TRACKING[kind](message, soft)
    raw = body if isinstance(body, str) else json.dumps(body)
    return client.post(f"/anymail/{slug}/tracking/", raw, content_type="application/json", **headers)


def sent_message(kind, shop, subscribe, template) -> Message:
    """A sent message as each provider's send leaves it (the provider's message id from SENDS)."""
    customer = subscribe(shop, EMAIL)
    provider_id = SENDS[kind][3] if kind in SENDS else "010001877ec2b7c6-d8d8-4a5f-95ba-2b8ea5b0ba2f-000000"
    return Message.objects.create(store=shop, customer=customer, template=template, idempotency_key="k",
                                  state="sent", sent_at=datetime(2026, 3, 2, 15, tzinfo=UTC), subject="Hello",
                                  provider_message_id=provider_id or "de212213-bb66-4302-8f3f-20acdb7a104e",
                                  next_attempt_at=datetime(2026, 3, 2, 15, tzinfo=UTC))


@pytest.mark.parametrize("kind", sorted(TRACKING))
def test_each_providers_signed_soft_bounce_is_soft_and_its_hard_bounce_suppresses(
        kind, client, shop, subscribe, template, webhooks_configured):
    message = sent_message(kind, shop, subscribe, template)
    response = post_tracking(client, kind, message, soft=True)
    assert response.status_code == 200, response.content
    bounce = Event.objects.get(type="email.bounced")
    assert bounce.properties["bounce_type"] == "soft" and bounce.properties["message_id"] == str(message.pk)
    assert bounce.properties["esp"] and not Suppression.objects.exists()
    assert post_tracking(client, kind, message, soft=False).status_code == 200
    assert Suppression.objects.get(store=shop, email=EMAIL).reason == "hard_bounce"
    assert Event.objects.filter(type="email.bounced", properties__bounce_type="hard").count() == 1


@pytest.mark.parametrize("kind", sorted(TRACKING))
def test_each_providers_tracking_post_is_refused_without_its_credential(kind, client, shop, subscribe, template,
                                                                       webhooks_configured, settings):
    message = sent_message(kind, shop, subscribe, template)
    slug, body, headers = TRACKING[kind](message, soft=False)
    settings.ANYMAIL = {"WEBHOOK_SECRET": ["hook:other"], "MAILGUN_WEBHOOK_SIGNING_KEY": "key-other",
                        "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY": base64.b64encode(
                            ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
                                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode(),
                        "RESEND_SIGNING_SECRET": "whsec_" + base64.b64encode(b"another-secret").decode()}
    raw = body if isinstance(body, str) else json.dumps(body)
    response = client.post(f"/anymail/{slug}/tracking/", raw, content_type="application/json", **headers)
    assert response.status_code in (400, 401)
    assert not Event.objects.filter(type="email.bounced").exists() and not Suppression.objects.exists()
