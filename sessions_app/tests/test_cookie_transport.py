"""The refresh token in an HttpOnly cookie for browser apps (sessions_app/api/transport.py): the cookie's
attributes, rotation and reuse detection as with the body, Django's CSRF check before the token is looked
at, the cookie cleared whenever the session ends, and body-mode clients untouched."""
from datetime import timedelta

from django.test import Client, override_settings
import pytest
from rest_framework.test import APIClient

from authcore.testing import PASSWORD, assert_error, bearer
from sessions_app.models import RefreshToken, Session

pytestmark = pytest.mark.django_db

COOKIE = "__Secure-refresh"
REFRESH, LOGOUT = "/api/auth/cookie/refresh/", "/api/auth/cookie/logout/"
THIRTY_DAYS = 30 * 24 * 3600


@pytest.fixture
def browser_api():
    """A client that, like a browser, keeps cookies and is held to Django's CSRF check."""
    return APIClient(enforce_csrf_checks=True)


def cookie_login(client, **fields):
    response = client.post("/api/auth/login/", {"email": "alice@example.com", "password": PASSWORD,
                                                 "transport": "cookie", **fields}, format="json")
    assert response.status_code == 200, response.content
    return response


def csrf_header(client) -> dict:
    return {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}


def refresh_with_cookie(client, **extra):
    return client.post(REFRESH, {}, format="json", **{**csrf_header(client), **extra})


def test_cookie_login_keeps_the_refresh_token_out_of_the_body(browser_api, user, clock):
    response = cookie_login(browser_api)

    body = response.json()
    assert "refresh" not in body and body["access"] and body["session_id"]
    cookie = response.cookies[COOKIE]
    assert cookie.value and cookie.value not in response.content.decode()
    assert cookie["httponly"] and cookie["secure"] and cookie["samesite"] == "Strict"
    assert cookie["path"] == "/api/auth/cookie/"  # only the cookie's own endpoints ever receive it
    assert int(cookie["max-age"]) == THIRTY_DAYS
    assert response.cookies["csrftoken"].value  # for the X-CSRFToken header
    assert Session.objects.get(pk=body["session_id"]).transport == "cookie"


def test_a_refresh_reads_the_cookie_and_rotates_it(browser_api, user, clock):
    first = cookie_login(browser_api).cookies[COOKIE].value
    clock.shift(timedelta(hours=1))

    response = refresh_with_cookie(browser_api)

    assert response.status_code == 200, response.content
    assert "refresh" not in response.json() and response.json()["access"]
    cookie = response.cookies[COOKIE]
    assert cookie.value != first
    # What is left of the absolute lifetime, not a fresh 30 days: rotation never extends it.
    assert int(cookie["max-age"]) == THIRTY_DAYS - 3600
    assert RefreshToken.objects.count() == 2


def test_the_same_session_works_through_many_rotations(browser_api, user, clock):
    cookie_login(browser_api)
    for _ in range(3):
        assert refresh_with_cookie(browser_api).status_code == 200
    assert Session.objects.get().revoked_at is None


def test_without_the_csrf_header_the_refresh_is_refused_and_nothing_is_spent(browser_api, user):
    login = cookie_login(browser_api)
    token = login.cookies[COOKIE].value

    refused = browser_api.post(REFRESH, {}, format="json")

    assert_error(refused, 403, "csrf_failed")
    assert COOKIE not in refused.cookies  # a refused request leaves the browser's session alone
    # The token was not spent: the real app's next refresh works, and no reuse was detected.
    assert refresh_with_cookie(browser_api).status_code == 200
    assert Session.objects.get().current_token_hash != "" and Session.objects.get().revoked_at is None
    assert token != browser_api.cookies[COOKIE].value


def test_a_wrong_csrf_token_is_refused(browser_api, user):
    cookie_login(browser_api)
    assert_error(browser_api.post(REFRESH, {}, format="json", HTTP_X_CSRFTOKEN="x" * 64), 403, "csrf_failed")


@pytest.mark.parametrize("content_type, body", [
    ("application/x-www-form-urlencoded", "a=b"),
    ("multipart/form-data; boundary=xyz",
     "--xyz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nb\r\n--xyz--\r\n"),
    ("text/plain", "{}"),
])
@pytest.mark.parametrize("path", [REFRESH, LOGOUT])
def test_a_cross_site_form_post_is_refused_before_anything_happens(browser_api, user, content_type, body, path):
    cookie_login(browser_api)

    refused = browser_api.generic("POST", path, body, content_type=content_type,
                                  HTTP_ORIGIN="https://evil.example", HTTP_SEC_FETCH_SITE="cross-site")

    assert_error(refused, 403, "csrf_failed")
    session = Session.objects.get()
    assert session.revoked_at is None and RefreshToken.objects.count() == 1


def test_a_foreign_origin_is_refused_even_with_the_token(browser_api, user):
    cookie_login(browser_api)
    assert_error(refresh_with_cookie(browser_api, HTTP_ORIGIN="http://evil.example"), 403, "csrf_failed")


@override_settings(CORS_ALLOWED_ORIGINS=["http://app.example"])
def test_an_allowed_app_origin_may_refresh_but_is_trusted_nowhere_else(browser_api, user):
    cookie_login(browser_api)
    assert refresh_with_cookie(browser_api, HTTP_ORIGIN="http://app.example").status_code == 200

    # The admin's forms do not trust the app's origin: an XSS in the app cannot post to them.
    client = Client(enforce_csrf_checks=True)
    client.get("/admin/login/")
    token = client.cookies["csrftoken"].value
    refused = client.post("/admin/login/", {"username": "x@example.com", "password": "y",
                                            "csrfmiddlewaretoken": token}, HTTP_ORIGIN="http://app.example")
    assert refused.status_code == 403
    same_origin = client.post("/admin/login/", {"username": "x@example.com", "password": "y",
                                                "csrfmiddlewaretoken": token}, HTTP_ORIGIN="http://testserver")
    assert same_origin.status_code == 200  # the form itself works: the origin made the difference


def test_a_replayed_cookie_ends_the_family_and_clears_the_cookie(browser_api, user):
    login = cookie_login(browser_api)
    stolen = login.cookies[COOKIE].value
    assert refresh_with_cookie(browser_api).status_code == 200
    access = login.json()["access"]

    browser_api.cookies[COOKIE] = stolen
    replay = refresh_with_cookie(browser_api)

    assert_error(replay, 401, "refresh_token_reused")
    assert replay.cookies[COOKIE].value == "" and int(replay.cookies[COOKIE]["max-age"]) == 0
    assert replay.cookies[COOKIE]["path"] == "/api/auth/cookie/" and replay.cookies[COOKIE]["httponly"]
    assert Session.objects.get().revoked_at is not None
    assert_error(APIClient().get("/api/auth/me/", **bearer(access)), 401, "token_not_valid")


def test_an_expired_session_clears_the_cookie(browser_api, user, clock):
    cookie_login(browser_api)
    clock.shift(timedelta(days=31))

    response = refresh_with_cookie(browser_api)

    assert_error(response, 401, "token_not_valid")
    assert int(response.cookies[COOKIE]["max-age"]) == 0


def test_logout_reads_the_cookie_ends_the_session_and_clears_it(browser_api, user):
    login = cookie_login(browser_api)

    response = browser_api.post(LOGOUT, {}, format="json", **csrf_header(browser_api))

    assert response.status_code == 204
    assert int(response.cookies[COOKIE]["max-age"]) == 0
    assert Session.objects.get(pk=login.json()["session_id"]).revoked_at is not None


def test_logout_without_the_csrf_header_ends_nothing(browser_api, user):
    cookie_login(browser_api)
    assert_error(browser_api.post(LOGOUT, {}, format="json"), 403, "csrf_failed")
    assert Session.objects.get().revoked_at is None


def test_logout_all_clears_the_cookie(browser_api, user):
    """The cookie is not sent to logout-all (its path is the cookie endpoints'); the answer clears it anyway."""
    login = cookie_login(browser_api)

    response = browser_api.post("/api/auth/logout-all/", {}, format="json", **bearer(login.json()["access"]))

    assert response.status_code == 200 and response.json()["revoked"] == 1
    assert int(response.cookies[COOKIE]["max-age"]) == 0


def test_a_password_change_continues_in_a_cookie_session(browser_api, user):
    login = cookie_login(browser_api, device_name="Alice's laptop")

    response = browser_api.post("/api/auth/change-password/", {
        "current_password": PASSWORD, "new_password": "a different long passphrase 42"},
        format="json", **bearer(login.json()["access"]))

    assert response.status_code == 200, response.content
    assert "refresh" not in response.json()
    new_session = Session.objects.get(pk=response.json()["session_id"])
    assert new_session.transport == "cookie" and new_session.device_name == "Alice's laptop"
    assert response.cookies[COOKIE].value
    assert refresh_with_cookie(browser_api).status_code == 200


def test_body_clients_need_no_csrf_token_and_get_no_cookie(browser_api, user):
    login = browser_api.post("/api/auth/login/", {"email": "alice@example.com", "password": PASSWORD},
                             format="json")
    assert login.status_code == 200 and COOKIE not in login.cookies

    refreshed = browser_api.post("/api/auth/refresh/", {"refresh": login.json()["refresh"]}, format="json")

    assert refreshed.status_code == 200 and refreshed.json()["refresh"]
    assert COOKIE not in refreshed.cookies


def test_a_cookie_refresh_without_the_cookie_is_a_401_of_its_own(browser_api, user):
    """A cookie client never sends the body's field: without its cookie (never signed in here, signed out,
    expired) the answer says so, and a browser app takes it as signed out."""
    browser_api.get("/api/auth/csrf/")  # the CSRF token, as the example app fetches it
    assert_error(browser_api.post(REFRESH, {}, format="json", **csrf_header(browser_api)), 401, "no_session_cookie")
    cookie_login(browser_api)
    logout = browser_api.post(LOGOUT, {}, format="json", **csrf_header(browser_api))
    assert logout.status_code == 204
    assert_error(refresh_with_cookie(browser_api), 401, "no_session_cookie")


def test_a_body_refresh_with_no_token_names_the_missing_field(api, user):
    body = assert_error(api.post("/api/auth/refresh/", {}, format="json"), 400, "invalid")
    assert [error["field"] for error in body["errors"]] == ["refresh"]


def test_the_session_decides_the_transport_whatever_carried_the_token(api, user):
    """A cookie session's token that arrives in a body (copied out of a browser, say) still gets its
    successor only in the cookie: the body never carries a cookie session's refresh token."""
    login = cookie_login(api)
    token = login.cookies[COOKIE].value
    api.cookies.clear()

    response = api.post("/api/auth/refresh/", {"refresh": token}, format="json")

    assert response.status_code == 200 and "refresh" not in response.json()
    assert response.cookies[COOKIE].value


@pytest.mark.parametrize("path", [REFRESH, LOGOUT])
def test_a_body_token_and_the_cookie_at_once_are_refused(browser_api, make_user, user, path):
    """Otherwise the answer could clear or overwrite the browser's cookie on account of another session."""
    other = APIClient().post("/api/auth/login/", {"email": "alice@example.com", "password": PASSWORD},
                             format="json").json()["refresh"]
    cookie_login(browser_api)

    response = browser_api.post(path, {"refresh": other}, format="json", **csrf_header(browser_api))

    body = assert_error(response, 400, "invalid")
    assert [(error["field"], error["code"]) for error in body["errors"]] == [("refresh", "two_tokens")]
    assert COOKIE not in response.cookies
    assert Session.objects.filter(revoked_at=None).count() == 2 and RefreshToken.objects.count() == 2


@pytest.mark.parametrize("transport", ["Cookie", "both", 1, None])
def test_an_unknown_transport_is_a_field_error(api, user, transport):
    response = api.post("/api/auth/login/", {"email": "alice@example.com", "password": PASSWORD,
                                             "transport": transport}, format="json")
    body = assert_error(response, 400, "invalid")
    assert [error["field"] for error in body["errors"]] == ["transport"]


def test_the_csrf_endpoint_hands_out_a_token_and_its_cookie(browser_api):
    response = browser_api.get("/api/auth/csrf/")
    assert response.status_code == 200
    assert response.json()["csrf_token"] and response.cookies["csrftoken"].value


@override_settings(DEBUG=True, SESSIONS_APP={"REFRESH_COOKIE_SECURE": False, "REFRESH_COOKIE_SAMESITE": "Lax"})
def test_local_http_development_may_relax_secure_and_then_drops_the_prefix(browser_api, user):
    response = cookie_login(browser_api)
    cookie = response.cookies["refresh"]
    assert not cookie["secure"] and cookie["samesite"] == "Lax" and cookie["httponly"]
    assert "__Secure-refresh" not in response.cookies


def test_the_grace_outcome_answers_in_the_cookie_too(browser_api, user, settings):
    """A lost response retried with the same cookie (grace interval on): the immediate parent gets a new
    child, in the cookie and never in the body, and the family goes on."""
    settings.SESSIONS_APP = {**getattr(settings, "SESSIONS_APP", {}), "REFRESH_REUSE_GRACE": timedelta(seconds=10)}
    parent = cookie_login(browser_api).cookies[COOKIE].value
    assert refresh_with_cookie(browser_api).status_code == 200  # its response "lost"

    browser_api.cookies[COOKIE] = parent
    retried = refresh_with_cookie(browser_api)

    assert retried.status_code == 200, retried.content
    assert "refresh" not in retried.json() and retried.cookies[COOKIE].value not in ("", parent)
    assert Session.objects.get().revoked_at is None
    assert refresh_with_cookie(browser_api).status_code == 200


def test_an_idle_session_ends_and_clears_the_cookie(browser_api, user, clock):
    cookie_login(browser_api)
    clock.shift(timedelta(days=7, seconds=1))

    response = refresh_with_cookie(browser_api)

    assert_error(response, 401, "token_not_valid")
    assert int(response.cookies[COOKIE]["max-age"]) == 0
