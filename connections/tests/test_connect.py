"""Connecting an account through the authorization code flow with PKCE and a single-use state, against a real
OAuth 2.0 provider (django-oauth-toolkit on loopback)."""
from datetime import timedelta

from django.test import Client
import pytest
import time_machine

from authcore.models import SecurityEvent
from authcore.testing import assert_error
from connections import events, services
from connections.browser_binding import binding_cookie_name
from connections.models import Connection, PendingConnection

from .conftest import APP_CALLBACK, provider_settings
from .helpers import authorized_redirect, complete, connect, query_of, start

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_code_flow_with_pkce_stores_working_tokens(api, user, demo):
    response = start(api, user)
    assert response.status_code == 200
    url = response.json()["authorization_url"]
    request = query_of(url)
    # PKCE S256 and a state of our own; the verifier itself never leaves the server.
    assert (request["code_challenge_method"], request["response_type"]) == ("S256", "code")
    assert len(request["state"]) >= 40 and request["redirect_uri"] == "http://testserver/connections/demo/callback/"

    answer = query_of(demo.authorize(url))
    connected = complete(api, user, {"state": answer["state"], "code": answer["code"]})

    assert connected.status_code == 200, connected.content
    body = connected.json()
    assert (body["provider"], body["status"], sorted(body["scopes"])) == ("demo", "active", ["read", "write"])
    assert body["expires_at"] is not None
    connection = Connection.objects.get(user=user)
    token = services.get_valid_access_token(user, "demo")
    assert demo.accepts(token)
    assert connection.read_token("refresh_token") and connection.access_token_ciphertext
    assert token.encode() not in bytes(connection.access_token_ciphertext)  # encrypted at rest
    assert not PendingConnection.objects.exists()  # the state is spent
    assert SecurityEvent.objects.filter(kind=events.CONNECTED, user=user).count() == 1


def test_a_state_works_once(api, user, demo):
    answer = authorized_redirect(api, user, demo)
    assert complete(api, user, answer).status_code == 200
    assert_error(complete(api, user, answer), 400, "invalid_state")


def test_a_state_is_bound_to_the_user_who_started_it(api, user, make_user, demo):
    answer = authorized_redirect(api, user, demo)
    mallory = make_user("mallory@example.com", password=None)

    assert_error(complete(api, mallory, answer), 400, "invalid_state")
    assert not Connection.objects.exists()


def test_another_user_presenting_a_state_leaves_the_attempt_to_its_user(api, user, make_user, demo):
    answer = authorized_redirect(api, user, demo)
    mallory = make_user("mallory@example.com", password=None)

    assert_error(complete(api, mallory, answer), 400, "invalid_state")

    assert PendingConnection.objects.count() == 1
    assert complete(api, user, answer).status_code == 200
    assert Connection.objects.filter(user=user, status="active").exists()
    assert not Connection.objects.filter(user=mallory).exists()


def test_a_state_presented_for_another_provider_leaves_the_attempt(api, user, settings, demo):
    settings.CONNECTIONS = {**settings.CONNECTIONS, "PROVIDERS": {**settings.CONNECTIONS["PROVIDERS"],
                                                                  "other": provider_settings(demo)}}
    answer = authorized_redirect(api, user, demo)

    assert_error(complete(api, user, answer, provider="other"), 400, "invalid_state")

    assert complete(api, user, answer).status_code == 200
    assert Connection.objects.get(user=user).provider == "demo"


def test_a_state_expires(api, user, demo):
    answer = authorized_redirect(api, user, demo)
    with time_machine.travel(timedelta(minutes=10, seconds=1)):
        assert_error(complete(api, user, answer), 400, "invalid_state")
    assert not Connection.objects.exists()


def test_an_unknown_state_stores_nothing(api, user, demo):
    answer = authorized_redirect(api, user, demo)
    assert_error(complete(api, user, {**answer, "state": "forged-" + answer["state"][7:]}), 400, "invalid_state")
    assert not Connection.objects.exists()


def test_access_denied_at_the_provider_stores_nothing(api, user, demo):
    answer = authorized_redirect(api, user, demo, approve=False)
    assert answer["error"] == "access_denied"

    assert_error(complete(api, user, answer), 400, "connection_denied")
    assert not Connection.objects.exists() and not PendingConnection.objects.exists()


def test_a_code_the_provider_refuses_stores_nothing(api, user, demo):
    answer = authorized_redirect(api, user, demo)
    assert_error(complete(api, user, {**answer, "code": "not-the-code"}), 400, "connection_failed")
    assert not Connection.objects.exists()


def test_connecting_again_replaces_the_tokens_of_the_same_connection(api, user, demo):
    first = connect(api, user, demo)
    old_token = first.read_token("access_token")

    second = connect(api, user, demo)

    assert second.pk == first.pk and Connection.objects.count() == 1
    assert second.read_token("access_token") != old_token


def test_an_app_with_its_own_redirect_uri_completes_through_the_api(api, user, settings, demo):
    settings.CONNECTIONS = {**settings.CONNECTIONS, "PROVIDERS": {
        "demo": provider_settings(demo, redirect_uri=APP_CALLBACK)}}
    response = start(api, user)
    assert query_of(response.json()["authorization_url"])["redirect_uri"] == APP_CALLBACK
    location = demo.authorize(response.json()["authorization_url"])
    assert location.startswith(APP_CALLBACK)

    assert complete(api, user, query_of(location)).status_code == 200


def test_a_provider_configured_by_discovery_works(api, user, settings, demo):
    # The RFC 8414 metadata lists the revocation endpoint too (OpenID discovery documents often do not).
    settings.CONNECTIONS = {**settings.CONNECTIONS, "PROVIDERS": {"demo": {
        "client_id": demo.client_id, "client_secret": demo.client_secret, "scopes": ["read"],
        "discovery_url": demo.metadata_url}}}

    connection = connect(api, user, demo)

    assert demo.accepts(connection.read_token("access_token"))
    services.disconnect(user=user, provider_name="demo")
    assert not demo.accepts(connection.read_token("access_token") or "gone")


def test_unknown_provider_is_a_404(api, user, demo):
    assert_error(start(api, user, provider="nope"), 404, "unknown_provider")


# --- the browser flow: the callback page --------------------------------------------------------------------
def test_the_callback_page_completes_in_the_browser_that_started(api, user, demo):
    answer = authorized_redirect(api, user, demo)  # `api` now holds the binding cookie
    browser = Client()
    browser.cookies = api.cookies

    page = browser.get("/connections/demo/callback/", answer)

    assert page.status_code == 200 and "Account connected" in page.content.decode()
    assert page["Referrer-Policy"] == "no-referrer"
    assert Connection.objects.filter(user=user, status="active").exists()
    assert page.cookies[binding_cookie_name("demo")]["max-age"] == 0  # the binding cookie is cleared


def test_the_callback_page_refuses_another_browser(api, user, demo):
    """Someone who started an attempt cannot send its authorization URL to a victim to have the victim's
    provider account connected to theirs: the victim's browser does not hold the binding cookie."""
    answer = authorized_redirect(api, user, demo)

    victim = Client()
    victim.cookies[binding_cookie_name("demo")] = "the victim's own binding, of an attempt of theirs"

    page = victim.get("/connections/demo/callback/", answer)

    assert page.status_code == 400 and "Not connected" in page.content.decode()
    assert not Connection.objects.exists()
    # A stray link to the page does not clear the cookie of the victim's own attempt.
    assert binding_cookie_name("demo") not in page.cookies


@pytest.mark.parametrize("binding", [None, "a binding of another attempt"], ids=["no-cookie", "wrong-cookie"])
def test_another_browser_on_the_callback_page_leaves_the_attempt_to_its_browser(api, user, demo, binding):
    answer = authorized_redirect(api, user, demo)
    stranger = Client()
    if binding is not None:
        stranger.cookies[binding_cookie_name("demo")] = binding

    refused = stranger.get("/connections/demo/callback/", answer)

    assert refused.status_code == 400 and "Not connected" in refused.content.decode()
    assert PendingConnection.objects.count() == 1
    browser = Client()
    browser.cookies = api.cookies
    page = browser.get("/connections/demo/callback/", answer)
    assert page.status_code == 200 and "Account connected" in page.content.decode()
    assert Connection.objects.filter(user=user, status="active").exists()


def test_the_callback_page_says_access_was_denied_and_returns_to_the_app(api, user, settings, demo):
    settings.CONNECTIONS = {**settings.CONNECTIONS, "APP_URL": "https://app.example.com/settings"}
    answer = authorized_redirect(api, user, demo, approve=False)
    browser = Client()
    browser.cookies = api.cookies

    page = browser.get("/connections/demo/callback/", answer)

    assert page.status_code == 302
    assert page["Location"] == "https://app.example.com/settings?connection_error=connection_denied"
    assert not Connection.objects.exists()


@pytest.mark.parametrize("query", [{}, {"state": "x" * 201, "code": "c"}, {"state": "s", "code": "\x00"},
                                   {"state": "s", "code": "é"}])
def test_a_malformed_callback_is_a_400_page(demo, query):
    page = Client().get("/connections/demo/callback/", query)
    assert page.status_code == 400 and "Not connected" in page.content.decode()
