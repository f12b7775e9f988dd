"""Attacks through a store's email-provider credentials (issue 13 item 3, provider half), as a hostile
store owner would make them in the admin: an ``api_url`` or SMTP host on an internal address, DNS
rebinding after the check, the development ``file`` kind in production, and "Send a test email" used to
read internal responses or to tell open ports from closed ones."""

from __future__ import annotations

import json
import socket

import pytest
import requests
import responses
from aiosmtpd.controller import Controller
from django.urls import reverse

from campaigns.models import EmailProvider, Message
from campaigns.outbox import enqueue
from campaigns.providers import ProviderNotConfigured, connection_for
from campaigns.sender import send_due_messages
from shopconnect import outbound

from .test_sending import _Collect  # the loopback SMTP server's message collector

INTERNAL_BODY = "ami-id: i-0abc AccessKeyId=ASIAINTERNAL SecretAccessKey=wJalrXUtnFEMI"


def provider_form(**fields) -> dict:
    form = {"kind": "postmark", "from_email": "news@outdoor.example", "from_name": "Outdoor", "reply_to": "",
            "credentials": "", "rate_limit_per_minute": "0", "smart_sending_hours": "16",
            "click_window_days": "5", "open_window_days": "5", "exclude_machine_opens": "on",
            "in_doubt": "non_marketing"}
    return {**form, **fields}


@pytest.fixture
def owner(shop, make_user, client):
    user = make_user(shop, role="owner")
    user.email = "owner@outdoor.example"
    user.save()
    client.force_login(user)
    return user


def save_provider(client, shop, **fields):
    return client.post(f"/admin/campaigns/emailprovider/{shop.email_provider.pk}/change/",
                       provider_form(store=shop.pk, **fields))


@pytest.mark.parametrize("credentials, kind", [
    ('{"server_token": "t", "api_url": "https://169.254.169.254/latest/"}', "postmark"),
    ('{"server_token": "t", "api_url": "https://127.0.0.1:8000/"}', "postmark"),
    ('{"server_token": "t", "api_url": "http://mail-api.example/"}', "postmark"),
    ('{"api_key": "k", "api_url": "https://10.0.0.7/v3/"}', "mailgun"),
    ('{"host": "127.0.0.1", "port": 6379}', "smtp"),
    ('{"host": "169.254.169.254", "port": 80}', "smtp"),
    ('{"host": "192.168.1.20", "port": 25}', "smtp"),
], ids=["metadata-api-url", "loopback-api-url", "plain-http", "private-mailgun", "smtp-redis", "smtp-metadata",
        "smtp-lan"])
def test_admin_refuses_provider_credentials_that_point_inside(shop, owner, client, credentials, kind):
    response = save_provider(client, shop, kind=kind, credentials=credentials)
    assert response.status_code == 200  # the form again, with the reason
    errors = response.context["adminform"].form.errors
    assert "credentials" in errors and "refused" in errors["credentials"][0]
    provider = EmailProvider.objects.get(pk=shop.email_provider.pk)
    assert provider.kind == "locmem" and provider.credentials == ""


def test_admin_accepts_a_public_api_url(shop, owner, client):
    response = save_provider(client, shop, credentials='{"server_token": "t", "api_url": "https://mail-api.example/"}')
    assert response.status_code == 302
    assert EmailProvider.objects.get(pk=shop.email_provider.pk).credential_dict()["api_url"] == "https://mail-api.example/"


def test_the_file_kind_is_not_offered_or_accepted_without_debug(shop, owner, client, settings, tmp_path):
    settings.DEBUG = False
    page = client.get(f"/admin/campaigns/emailprovider/{shop.email_provider.pk}/change/").content.decode()
    assert 'value="smtp"' in page and 'value="file"' not in page
    response = save_provider(client, shop, kind="file", credentials=json.dumps({"file_path": str(tmp_path)}))
    assert response.status_code == 200 and "kind" in response.context["adminform"].form.errors
    # a file provider stored before (or written straight to the database) cannot send in production either
    EmailProvider.objects.filter(pk=shop.email_provider.pk).update(kind="file")
    with pytest.raises(ProviderNotConfigured, match="development only"):
        connection_for(EmailProvider.objects.get(pk=shop.email_provider.pk))
    assert not list(tmp_path.iterdir())


def test_the_file_kind_cannot_choose_its_directory_even_in_development(shop, settings, tmp_path):
    settings.DEBUG = True
    provider = shop.email_provider
    provider.kind, provider.credentials = "file", json.dumps({"file_path": str(tmp_path)})
    with pytest.raises(ProviderNotConfigured, match="unknown credential keys: file_path"):
        connection_for(provider)


@responses.activate
def test_a_stored_internal_api_url_is_refused_when_sending(shop, subscribe, template):
    """Saved before the check (or straight to the database): the sender refuses it at connect time."""
    EmailProvider.objects.filter(pk=shop.email_provider.pk).update(
        kind="postmark", credentials='{"server_token": "t", "api_url": "https://169.254.169.254/"}')
    responses.post("https://169.254.169.254/email", body=INTERNAL_BODY)
    customer = subscribe(shop, "ana@example.com")
    enqueue([Message(store=shop, customer=customer, template=template, idempotency_key="k")])
    assert send_due_messages()["retried"] == 1
    assert len(responses.calls) == 0
    assert "not a public address" in Message.objects.get().note


def _listening_port() -> tuple[socket.socket, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock, sock.getsockname()[1]


def test_send_test_email_does_not_tell_open_from_closed_ports(shop, owner, client):
    """The old action said "Connection refused" for a closed port and something else for an open one."""
    listener, open_port = _listening_port()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    answers = []
    try:
        for port in (open_port, closed_port):
            EmailProvider.objects.filter(pk=shop.email_provider.pk).update(
                kind="smtp", credentials=json.dumps({"host": "127.0.0.1", "port": port, "timeout": 2}))
            response = client.post("/admin/campaigns/emailprovider/", {
                "action": "send_test", "_selected_action": [shop.email_provider.pk]}, follow=True)
            answers.append([str(m) for m in response.context["messages"]])
    finally:
        listener.close()
    assert answers[0] == answers[1]
    assert "not a public address" in answers[0][0] and str(open_port) not in answers[0][0]


@responses.activate
def test_send_test_email_never_shows_the_providers_response_body(shop, owner, client):
    EmailProvider.objects.filter(pk=shop.email_provider.pk).update(
        kind="postmark", credentials='{"server_token": "t", "api_url": "https://mail-api.example/"}')
    answers = []
    for fake in ({"status": 500, "body": INTERNAL_BODY}, {"body": requests.ConnectionError("refused")},
                 {"body": requests.ConnectTimeout("timed out")}):
        responses.replace(responses.POST, "https://mail-api.example/email", **fake) if answers else \
            responses.post("https://mail-api.example/email", **fake)
        response = client.post("/admin/campaigns/emailprovider/", {
            "action": "send_test", "_selected_action": [shop.email_provider.pk]}, follow=True)
        answers.append([str(m) for m in response.context["messages"]])
    assert answers[0] == answers[1] == answers[2]  # an error page, a refused and a silent port look the same
    assert "did not accept the test email" in answers[0][0]
    assert "ASIAINTERNAL" not in answers[0][0] and "500" not in answers[0][0]


@responses.activate
def test_editor_send_test_never_echoes_the_providers_answer(shop, owner, client, subscribe):
    customer = subscribe(shop, "ana@example.com")
    EmailProvider.objects.filter(pk=shop.email_provider.pk).update(
        kind="postmark", credentials='{"server_token": "t", "api_url": "https://mail-api.example/"}')
    responses.post("https://mail-api.example/email", status=422, body=INTERNAL_BODY)
    response = client.post(reverse("admin:campaigns_emailtemplate_send_test"), {
        "store": shop.pk, "customer": customer.pk, "subject": "Hi", "html": "<p>Hi</p>", "text": ""})
    assert response.status_code == 502
    error = response.json()["error"]
    assert "did not accept the test email" in error and "ASIAINTERNAL" not in error and "422" not in error


def test_editor_send_test_to_an_internal_smtp_host_is_refused_before_connecting(shop, owner, client, subscribe):
    customer = subscribe(shop, "ana@example.com")
    EmailProvider.objects.filter(pk=shop.email_provider.pk).update(
        kind="smtp", credentials='{"host": "127.0.0.1", "port": 6379}')
    response = client.post(reverse("admin:campaigns_emailtemplate_send_test"), {
        "store": shop.pk, "customer": customer.pk, "subject": "Hi", "html": "<p>Hi</p>", "text": ""})
    assert response.status_code == 400 and "not a public address" in response.json()["error"]


def test_smtp_host_rebound_to_loopback_after_the_check_gets_nothing(shop, subscribe, template, monkeypatch):
    """DNS rebinding: the host passed the check as a public address, then connects to loopback."""
    handler = _Collect()
    sock, port = _listening_port()
    sock.close()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setattr(outbound, "resolve", lambda host, port: ["93.184.216.34"])  # the check's answer
    try:
        EmailProvider.objects.filter(pk=shop.email_provider.pk).update(
            kind="smtp", credentials=json.dumps({"host": "127.0.0.1", "port": port, "username": "u", "password": "p"}))
        enqueue([Message(store=shop, customer=subscribe(shop, "ana@example.com"), template=template,
                         idempotency_key="k")])
        assert send_due_messages()["retried"] == 1
    finally:
        controller.stop()
    assert handler.messages == []
    assert "not a public address" in Message.objects.get().note
