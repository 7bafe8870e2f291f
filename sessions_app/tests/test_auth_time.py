"""How and when the user proved who they are, in every access token (RFC 8176 `amr`, OpenID Connect's
`auth_time`): the sign-in's, unchanged by refreshes, moved by a reauthentication; and an endpoint that asks for a
recent proof (sessions_app.permissions.RecentlyAuthenticated) refuses an old one until the password is
confirmed."""
from datetime import timedelta

import pytest

from accounts.testing import login
from authcore.testing import CLOCK_START, PASSWORD, assert_error, bearer
from sessions_app.models import Session

from .helpers import claims, rotate

pytestmark = pytest.mark.django_db


def test_a_password_login_says_pwd_and_when(api, user, clock):
    tokens = login(api)
    payload = claims(tokens["access"])
    assert payload["amr"] == ["pwd"]
    assert payload["auth_time"] == int(CLOCK_START.timestamp())
    assert Session.objects.get().auth_methods == "pwd"


def test_refreshes_keep_the_sign_in_time(api, user, clock):
    tokens = login(api)
    clock.shift(timedelta(hours=2))
    renewed = rotate(api, tokens["refresh"])
    payload = claims(renewed["access"])
    assert payload["auth_time"] == int(CLOCK_START.timestamp()) and payload["amr"] == ["pwd"]
    assert payload["iat"] == int((CLOCK_START + timedelta(hours=2)).timestamp())


@pytest.mark.urls("sessions_app.tests.urls_recent")
def test_an_endpoint_asking_for_a_recent_sign_in(api, user, clock):
    tokens = login(api)
    assert api.post("/api/sensitive/", **bearer(tokens["access"])).json() == {"done": True}

    clock.shift(timedelta(minutes=6))  # past the 5-minute window
    fresh = rotate(api, tokens["refresh"])  # a refresh is no new proof
    assert_error(api.post("/api/sensitive/", **bearer(fresh["access"])), 403, "reauthentication_required")

    wrong = api.post("/api/auth/reauthenticate/", {"password": "not the password"}, format="json",
                     **bearer(fresh["access"]))
    assert_error(wrong, 400, "password_incorrect")
    confirmed = api.post("/api/auth/reauthenticate/", {"password": PASSWORD}, format="json",
                         **bearer(fresh["access"]))
    assert confirmed.status_code == 200
    body = confirmed.json()
    assert claims(body["access"])["auth_time"] == int((CLOCK_START + timedelta(minutes=6)).timestamp())
    assert claims(body["access"])["sid"] == claims(fresh["access"])["sid"]
    assert api.post("/api/sensitive/", **bearer(body["access"])).json() == {"done": True}
    # Later refreshes carry the new time too.
    assert claims(rotate(api, fresh["refresh"])["access"])["auth_time"] == claims(body["access"])["auth_time"]


def test_reauthenticating_needs_a_live_session(api, user):
    tokens = login(api)
    api.post("/api/auth/logout/", {"refresh": tokens["refresh"]}, format="json")
    assert_error(api.post("/api/auth/reauthenticate/", {"password": PASSWORD}, format="json",
                          **bearer(tokens["access"])), 401, "token_not_valid")
