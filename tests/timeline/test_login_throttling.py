"""Admin login throttling (issue 13 item 8): password guessing through the real login form (django-axes).

After ``LOGIN_FAILURE_LIMIT`` (5) wrong passwords for one user name from one address, that pair is locked
out for ``LOGIN_COOLOFF_MINUTES`` (15): even the right password answers 429 and logs nobody in.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db


def login(client: Client, username: str, password: str, address: str = "198.51.100.7"):
    form = client.get("/admin/login/?next=/admin/", REMOTE_ADDR=address)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', form.content).group(1).decode()
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password,
                                                      "csrfmiddlewaretoken": token, "next": "/admin/"},
                       REMOTE_ADDR=address)


def logged_in(client: Client) -> bool:
    return client.get("/admin/").status_code == 200


def test_guessing_a_password_is_locked_out_after_five_tries(make_user):
    owner = make_user()
    owner.set_password("the-real-password")
    owner.save()
    attacker = Client(enforce_csrf_checks=True)
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        for guess in ("123456", "password", "qwerty", "letmein"):
            assert login(attacker, owner.username, guess).status_code == 200  # the form again, with an error
        assert login(attacker, owner.username, "admin").status_code == 429  # the fifth wrong one locks
        locked = login(attacker, owner.username, "the-real-password")
        assert locked.status_code == 429 and not logged_in(attacker)
    # the owner, from their own address, is not locked out by the attacker
    assert login(Client(enforce_csrf_checks=True), owner.username, "the-real-password",
                 address="203.0.113.9").status_code == 302
    with time_machine.travel(now + timedelta(minutes=16), tick=False):  # the cool-off has passed
        assert login(attacker, owner.username, "the-real-password").status_code == 302
        assert logged_in(attacker)


def test_a_good_login_resets_the_count(make_user):
    user = make_user()
    user.set_password("pw-right")
    user.save()
    client = Client(enforce_csrf_checks=True)
    for _ in range(4):
        login(client, user.username, "wrong")
    assert login(client, user.username, "pw-right").status_code == 302
    client.logout()
    for _ in range(4):
        login(client, user.username, "wrong")
    assert login(client, user.username, "pw-right").status_code == 302
