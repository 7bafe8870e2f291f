"""The connected-accounts page of a signed-in browser, against a real OAuth 2.0 provider on loopback: list,
connect (to the provider and back to the list), disconnect (after a recent sign-in)."""
from datetime import timedelta
import re

from django.test import Client
import pytest

from authcore.models import SecurityEvent
from authcore.testing import PASSWORD
from connections import events
from connections.models import Connection
from sessions_app.browser import SESSION_ID_KEY
from sessions_app.models import Session

from .helpers import connect, query_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def browser(user) -> Client:
    client = Client()
    assert client.post("/accounts/login/", {"email": "alice@example.com", "password": PASSWORD}).status_code == 302
    return client


def test_the_list_offers_each_configured_provider(browser, demo):
    html = browser.get("/connections/").content.decode()
    assert 'action="/connections/demo/connect/"' in html and "Not connected" in html


def test_the_list_needs_a_signed_in_browser(demo):
    response = Client().get("/connections/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def test_connecting_from_the_page_goes_to_the_provider_and_back_to_the_list(browser, user, demo):
    started = browser.post("/connections/demo/connect/")
    assert started.status_code == 200
    html = started.content.decode()
    # On to the provider by a new navigation (a meta refresh and a link), not a redirect of the form's POST,
    # which the pages' CSP (form-action 'self') would stop.
    authorization_url = re.search(r'<meta http-equiv="refresh" content="0; url=([^"]+)">', html).group(1)
    authorization_url = authorization_url.replace("&amp;", "&")
    assert f'href="{authorization_url.replace("&", "&amp;")}"' in html
    assert query_of(authorization_url)["code_challenge_method"] == "S256"

    answer = query_of(demo.authorize(authorization_url))
    back = browser.get("/connections/demo/callback/", answer)

    assert back.status_code == 302 and back["Location"] == "/connections/"
    assert Connection.objects.get(user=user, provider="demo").status == "active"
    listed = browser.get("/connections/").content.decode()
    assert "Your demo account is connected." in listed and 'action="/connections/demo/disconnect/"' in listed


def test_disconnecting_needs_a_recent_sign_in(browser, user, api, demo):
    connect(api, user, demo)
    session_id = browser.session[SESSION_ID_KEY]
    Session.objects.filter(pk=session_id).update(created_at=Session.objects.get(pk=session_id).created_at
                                                 - timedelta(minutes=10))

    refused = browser.post("/connections/demo/disconnect/")

    # Back to the list after the password is confirmed: the action itself takes only a POST.
    assert refused.status_code == 302 and refused["Location"] == "/accounts/confirm-password/?next=%2Fconnections%2F"
    assert Connection.objects.get(user=user).status == "active"
    confirmed = browser.post("/accounts/confirm-password/", {"password": PASSWORD, "next": "/connections/"})
    assert confirmed["Location"] == "/connections/"

    done = browser.post("/connections/demo/disconnect/")

    assert done.status_code == 302 and done["Location"] == "/connections/"
    assert Connection.objects.get(user=user).status == "revoked"
    assert SecurityEvent.objects.filter(kind=events.DISCONNECTED, user=user).count() == 1
    assert "Your demo account is disconnected." in browser.get("/connections/").content.decode()


def test_connect_and_disconnect_take_only_a_post(browser, demo):
    assert browser.get("/connections/demo/connect/").status_code == 405
    assert browser.get("/connections/demo/disconnect/").status_code == 405


def test_a_connection_started_through_the_api_still_returns_to_the_app(browser, user, api, settings, demo):
    """Only an attempt started on the list page comes back to it."""
    settings.CONNECTIONS = {**settings.CONNECTIONS, "APP_URL": "https://app.example.com/settings"}
    from .helpers import start

    response = start(api, user)
    answer = query_of(demo.authorize(response.json()["authorization_url"]))
    page = api.get("/connections/demo/callback/", answer)
    assert page.status_code == 302 and page["Location"].startswith("https://app.example.com/settings?connected=demo")


def test_the_disconnect_flow_checks_the_window_itself(browser, user, api, demo):
    """Not only the page: the flow refuses a browser session whose sign-in is old."""
    from authcore.errors import ServiceError
    from connections import services

    connect(api, user, demo)
    session_id = browser.session[SESSION_ID_KEY]
    Session.objects.filter(pk=session_id).update(created_at=Session.objects.get(pk=session_id).created_at
                                                 - timedelta(minutes=10))
    with pytest.raises(ServiceError) as refused:
        services.disconnect(user=user, provider_name="demo", recently_proven_session=session_id)
    assert refused.value.code == "reauthentication_required"
    assert Connection.objects.get(user=user).status == "active"
