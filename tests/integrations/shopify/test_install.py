"""OAuth install against a fake Shopify (urllib for the token, GraphQL through requests)."""

from __future__ import annotations

import hashlib
import hmac
import time
import urllib.parse
import urllib.request

import pytest
import responses
from django.db import connection
from django_q.models import Schedule

from integrations.shopify.models import InstallState
from shopconnect.timeline.models import Store

from .fake_shopify import FakeShopify, gql_customer
from .helpers import SECRET, SHOP


@pytest.fixture
def fake():
    fake = FakeShopify()
    fake.data["customers"] = [gql_customer(0)]
    urllib.request.install_opener(urllib.request.build_opener(fake.urllib_handler()))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.install(rsps)
        yield fake
    urllib.request.install_opener(None)


@pytest.fixture
def installer(make_user):
    return make_user()


@pytest.fixture
def client(client, installer):
    """The store owner's browser, logged in to ShopConnect (the install binds the shop to them)."""
    client.force_login(installer)
    return client


def sign(params: dict, secret: str = SECRET) -> dict:
    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    return {**params, "hmac": hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()}


def start_install(client) -> str:
    response = client.get("/shopify/install", {"shop": SHOP})
    assert response.status_code == 302
    target = urllib.parse.urlparse(response["Location"])
    query = dict(urllib.parse.parse_qsl(target.query))
    assert (target.scheme, target.hostname, target.path) == ("https", SHOP, "/admin/oauth/authorize")
    assert query["client_id"] == "test-api-key"
    assert query["redirect_uri"] == "https://shopconnect.test/shopify/callback"
    assert "read_orders" in query["scope"].split(",") and "write_customers" in query["scope"].split(",")
    return query["state"]


def callback_params(state: str, **over) -> dict:
    return sign(
        {
            "code": "auth-code-123",
            "shop": SHOP,
            "state": state,
            "timestamp": str(int(time.time())),
            "host": "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvem9lLXRlc3Q",
            **over,
        }
    )


@pytest.mark.django_db
def test_install_exchanges_the_code_stores_the_token_encrypted_registers_webhooks_and_backfills(
    client, fake, installer, django_capture_on_commit_callbacks
):
    state = start_install(client)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get("/shopify/callback", callback_params(state))
    store = Store.objects.get(platform="shopify", domain=SHOP)
    assert response.status_code == 302 and response["Location"] == f"/admin/timeline/store/{store.pk}/change/"
    assert fake.token_requests == [{"client_id": "test-api-key", "client_secret": SECRET, "code": "auth-code-123"}]
    assert store.access_token == fake.token and store.is_active
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token FROM timeline_store WHERE id = %s", [store.pk])
        stored = cursor.fetchone()[0]
    assert fake.token not in stored  # encrypted at rest
    topics = {s["topic"] for s in fake.subscriptions}
    assert {
        "ORDERS_CREATE",
        "REFUNDS_CREATE",
        "CHECKOUTS_UPDATE",
        "APP_UNINSTALLED",
        "CARTS_UPDATE",
    } <= topics
    assert {s["uri"] for s in fake.subscriptions} == {"https://shopconnect.test/webhooks/shopify/"}
    assert store.customers.get().email == "kunde0@example.com"  # the backfill ran
    assert Schedule.objects.filter(func="integrations.shopify.tasks.reconcile_store", args=str(store.pk)).exists()
    assert not InstallState.objects.exists()  # the nonce is spent
    assert store.memberships.get().role == "owner" and store.memberships.get().user == installer


@pytest.mark.django_db
@pytest.mark.parametrize(
    "shop",
    [
        "evil.com",
        "zoe-test.myshopify.com.evil.com",
        "https://evil.com/x",
        "zoe test.myshopify.com",
        "",
        "-bad.myshopify.com",
        "a@b.myshopify.com",
    ],
)
def test_install_refuses_a_shop_name_that_is_not_a_myshopify_domain(client, shop):
    response = client.get("/shopify/install", {"shop": shop})
    assert response.status_code == 400
    assert not InstallState.objects.exists()


@pytest.mark.django_db
def test_a_forged_callback_hmac_is_refused_before_any_token_exchange(client, fake):
    state = start_install(client)
    params = callback_params(state)
    params["code"] = "attacker-code"  # signed for another code
    assert client.get("/shopify/callback", params).status_code == 403
    params = callback_params(state, code="x")
    params["hmac"] = sign(params, secret="not-the-secret")["hmac"]
    assert client.get("/shopify/callback", params).status_code == 403
    assert fake.token_requests == [] and not Store.objects.exists()


@pytest.mark.django_db
def test_a_callback_without_the_state_we_issued_is_refused(client, fake):
    start_install(client)
    assert client.get("/shopify/callback", callback_params("made-up-state")).status_code == 403
    assert fake.token_requests == [] and not Store.objects.exists()


@pytest.mark.django_db
def test_a_state_cannot_be_used_twice(client, fake, django_capture_on_commit_callbacks):
    state = start_install(client)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get("/shopify/callback", callback_params(state)).status_code == 302
    assert client.get("/shopify/callback", callback_params(state)).status_code == 403
    assert len(fake.token_requests) == 1


@pytest.mark.django_db
def test_an_old_callback_timestamp_is_refused(client, fake):
    state = start_install(client)
    old = str(int(time.time()) - 2 * 24 * 3600)
    assert client.get("/shopify/callback", callback_params(state, timestamp=old)).status_code == 403
    assert fake.token_requests == []


@pytest.mark.django_db
def test_a_callback_with_an_invalid_shop_is_400(client, fake):
    state = start_install(client)
    assert client.get("/shopify/callback", callback_params(state, shop="evil.com")).status_code == 400


@pytest.mark.django_db
def test_a_failed_token_exchange_is_a_clear_error_and_stores_nothing(client, fake):
    fake.token_status = 400
    state = start_install(client)
    response = client.get("/shopify/callback", callback_params(state))
    assert response.status_code == 502 and not Store.objects.exists()


@pytest.mark.django_db
def test_install_without_app_credentials_says_what_to_set(client, settings):
    settings.SHOPIFY_API_KEY = ""
    response = client.get("/shopify/install", {"shop": SHOP})
    assert response.status_code == 503 and b"SHOPIFY_API_KEY" in response.content


@pytest.mark.django_db
def test_reinstall_reactivates_an_uninstalled_store(client, fake, shop, django_capture_on_commit_callbacks):
    Store.objects.filter(pk=shop.pk).update(status="uninstalled")
    state = start_install(client)
    with django_capture_on_commit_callbacks(execute=True):
        client.get("/shopify/callback", callback_params(state))
    shop.refresh_from_db()
    assert shop.is_active and shop.access_token == fake.token and Store.objects.count() == 1


# --- store squatting and OAuth binding (issue 13 item 4) ------------------------------------------------
@pytest.mark.django_db
def test_install_needs_a_logged_in_user_and_stores_no_state_for_anonymous_requests(fake):
    from django.test import Client

    anonymous = Client()
    for _ in range(20):
        response = anonymous.get("/shopify/install", {"shop": SHOP})
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/?next=")
    assert not InstallState.objects.exists()


@pytest.mark.django_db
def test_install_states_are_capped_per_shop_and_expired_ones_purged(client, fake):
    import time_machine
    from django.utils import timezone

    with time_machine.travel(timezone.now() - timezone.timedelta(hours=1)):
        client.get("/shopify/install", {"shop": "other-shop.myshopify.com"})
    for _ in range(30):
        start_install(client)
    assert InstallState.objects.filter(shop=SHOP).count() == 5
    assert not InstallState.objects.filter(shop="other-shop.myshopify.com").exists()  # expired: purged


@pytest.mark.django_db
def test_the_callback_never_adopts_a_shop_another_user_owns(client, fake, shop, make_user):
    """A squatter's row (or the real owner's) is never taken over by another user's install."""
    from shopconnect.timeline.models import StoreMembership

    owner = make_user()
    StoreMembership.objects.create(store=shop, user=owner, role="owner")
    Store.objects.filter(pk=shop.pk).update(access_token="owners-token")
    state = start_install(client)
    response = client.get("/shopify/callback", callback_params(state))
    assert response.status_code == 403 and b"another ShopConnect account" in response.content
    shop.refresh_from_db()
    assert shop.access_token == "owners-token" and fake.token_requests == []
    assert list(shop.memberships.values_list("user", flat=True)) == [owner.pk]


@pytest.mark.django_db
def test_the_owner_reinstalling_keeps_the_shop(client, fake, shop, installer, django_capture_on_commit_callbacks):
    from shopconnect.timeline.models import StoreMembership

    StoreMembership.objects.create(store=shop, user=installer, role="owner")
    state = start_install(client)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get("/shopify/callback", callback_params(state)).status_code == 302
    shop.refresh_from_db()
    assert shop.access_token == fake.token and shop.memberships.count() == 1


@pytest.mark.django_db
def test_a_state_issued_to_one_user_is_refused_in_another_users_session(client, fake, make_user):
    from django.test import Client

    state = start_install(client)
    other = Client()
    other.force_login(make_user())
    assert other.get("/shopify/callback", callback_params(state)).status_code == 403
    assert Client().get("/shopify/callback", callback_params(state)).status_code == 403  # nor anonymous
    assert fake.token_requests == [] and not Store.objects.exists()
