"""Template rendering has a time and an output budget, for previews and the sender (issue 13 item 7).

A marketer's (or a hostile member's) template that loops for ever, renders gigabytes, or asks a filter for
a huge width fails with a reason: the preview shows it, the sender marks the message failed and sends
nothing; no web thread or worker is held.
"""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from campaigns import rendering
from campaigns.models import EmailTemplate, Message
from campaigns.outbox import enqueue
from campaigns.rendering import TemplateProblem, render_email
from campaigns.sender import send_due_messages

NESTED = "{% for a in s %}" * 6 + "x" + "{% endfor %}" * 6
BIG = "{% for a in s %}" * 3 + "0123456789" * 10 + "{% endfor %}" * 3
HOSTILE = {
    "runs for ever": (NESTED, "longer than"),
    "renders too much": (BIG, "more than"),
    "asks a filter for a huge width": ('{{ "x"|ljust:"2000000000" }}', "widths up to"),
    "doubles a string until it explodes": (
        "{% with a=s|join:s %}{% with b=a|join:a %}{{ b }}{% endwith %}{% endwith %}", "more than"),
}


@pytest.fixture(autouse=True)
def short_budget(monkeypatch):
    monkeypatch.setattr(rendering, "RENDER_SECONDS", 0.3)  # the budget, shortened so the suite stays fast


def context():
    return {"s": list(range(200)), "customer": {"first_name": "Ana"}}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_template_stops_with_a_reason(name):
    source, reason = HOSTILE[name]
    with pytest.raises(TemplateProblem, match=reason):
        render_email("Hi", source, "", context())


@pytest.mark.parametrize("source", ["{% debug %}", "{% lorem 99999 %}", "{% include 'x' %}", "{% load static %}",
                                    "{{ customer|pprint }}", "{% url 'admin:index' %}"])
def test_tags_that_leak_or_generate_are_not_available(source):
    with pytest.raises(ValidationError, match="Invalid"):
        EmailTemplate(name="T", subject="x", html=source).clean()


def test_a_normal_template_still_renders():
    rendered = render_email("Hi {{ customer.first_name|upper }}",
                            "<p>{% for a in s|slice:':3' %}{{ forloop.counter }}{% endfor %} "
                            "{{ customer.first_name|ljust:'6' }}|{{ 3.14159|floatformat:2 }}</p>", "", context())
    assert rendered.subject == "Hi ANA" and "123 Ana   |3.14" in rendered.html


def test_the_preview_shows_the_problem_instead_of_hanging(shop, subscribe, make_user, client):
    customer = subscribe(shop, "ana@example.com")
    template = EmailTemplate.objects.create(store=shop, name="Loop", subject="x",
                                            html="{% for a in customer.email|make_list %}" * 6 + "x"
                                            + "{% endfor %}" * 6)
    client.force_login(make_user(shop))
    page = client.post("/admin/campaigns/emailtemplate/editor/render/", {
        "store": shop.pk, "customer": customer.pk, "subject": template.subject, "html": template.html})
    assert page.status_code == 200
    answer = page.json()
    assert "longer than" in answer["error"] and answer["part"] == "html" and "html" not in answer


def test_the_sender_fails_the_message_and_sends_nothing(shop, subscribe):
    customer = subscribe(shop, "ana@example.com")
    template = EmailTemplate.objects.create(store=shop, name="Big", subject="x",
                                            html="{% for a in customer.email|make_list %}" * 4 + "x" * 100
                                            + "{% endfor %}" * 4)
    enqueue([Message(store=shop, customer=customer, template=template, idempotency_key="big-1")])
    send_due_messages()
    message = Message.objects.get(idempotency_key="big-1")
    assert message.state == "failed" and "more than" in message.note
    assert mail.outbox == []
