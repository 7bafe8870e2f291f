"""Users see their sessions and end them (docs/security.md 26); no hashes are ever exposed; every /api/auth/
response, and in particular every token response, carries Cache-Control: no-store (docs/security.md 25)."""
import uuid

from django.urls import URLPattern, URLResolver, get_resolver
import pytest

from accounts.testing import login
from authcore.requestmeta import ClientInfo
from authcore.testing import PASSWORD, assert_error, bearer
from sessions_app.models import Session
from sessions_app.services import end_session

from .helpers import CHROME_UA, me, open_session, refresh, session

pytestmark = pytest.mark.django_db

SESSION_FIELDS = {"id", "created_at", "last_used_at", "expires_at", "ip_address", "user_agent", "device", "device_name",
                  "transport", "current"}
FIREFOX_UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0"


def list_sessions(api, access):
    response = api.get("/api/auth/sessions/", **bearer(access))
    assert response.status_code == 200, response.content
    return response.json()


def test_list_shows_only_live_sessions_of_the_caller(api, alice, make_user):
    laptop = open_session(alice)
    phone = open_session(alice, ClientInfo(ip_address="2001:db8::7", user_agent=FIREFOX_UA))
    ended = open_session(alice)
    end_session(session=ended.session, reason=Session.RevokeReason.LOGOUT)
    open_session(make_user("bob@example.com", password=None))

    listed = list_sessions(api, laptop.access)

    assert {entry["id"] for entry in listed} == {str(laptop.session.id), str(phone.session.id)}
    assert all(set(entry) == SESSION_FIELDS for entry in listed)
    by_id = {entry["id"]: entry for entry in listed}
    assert by_id[str(laptop.session.id)]["current"] is True
    assert by_id[str(phone.session.id)]["current"] is False
    assert by_id[str(laptop.session.id)]["ip_address"] == "203.0.113.7"
    assert by_id[str(laptop.session.id)]["user_agent"] == CHROME_UA
    assert by_id[str(laptop.session.id)]["device"] == "Chrome on Linux"
    assert by_id[str(phone.session.id)]["ip_address"] == "2001:db8::7"
    assert by_id[str(phone.session.id)]["device"] == "Firefox on Mac OS X"


def test_list_exposes_no_hashes(api, alice):
    tokens = open_session(alice)
    refresh(api, tokens.refresh)
    stored = session(tokens.session.id)
    other = open_session(alice)

    raw = api.get("/api/auth/sessions/", **bearer(other.access)).content.decode()

    assert stored.current_token_hash not in raw and stored.previous_token_hash not in raw
    assert "hash" not in raw and tokens.refresh not in raw


def test_current_flag_follows_the_caller(api, alice):
    first, second = open_session(alice), open_session(alice)
    current = {entry["id"] for entry in list_sessions(api, second.access) if entry["current"]}
    assert current == {str(second.session.id)}
    current = {entry["id"] for entry in list_sessions(api, first.access) if entry["current"]}
    assert current == {str(first.session.id)}


def test_login_records_the_client_ip_and_user_agent(api, make_user):
    make_user()
    pair = login(api, "alice@example.com", PASSWORD, REMOTE_ADDR="192.0.2.55", HTTP_USER_AGENT=FIREFOX_UA)
    (entry,) = list_sessions(api, pair["access"])
    assert entry["id"] == pair["session_id"]
    assert (entry["ip_address"], entry["user_agent"], entry["device"]) == (
        "192.0.2.55", FIREFOX_UA, "Firefox on Mac OS X")


def test_ending_another_session_of_ones_own(api, alice):
    laptop, phone = open_session(alice), open_session(alice)

    response = api.delete(f"/api/auth/sessions/{phone.session.id}/", **bearer(laptop.access))

    assert response.status_code == 204 and response.content == b""
    assert [entry["id"] for entry in list_sessions(api, laptop.access)] == [str(laptop.session.id)]
    assert session(phone.session.id).revoke_reason == Session.RevokeReason.ENDED_BY_USER
    # Ending it again: it is no longer a live session of the caller.
    assert_error(api.delete(f"/api/auth/sessions/{phone.session.id}/", **bearer(laptop.access)), 404, "not_found")


def test_ending_the_current_session(api, alice):
    tokens = open_session(alice)
    assert api.delete(f"/api/auth/sessions/{tokens.session.id}/", **bearer(tokens.access)).status_code == 204
    assert_error(me(api, tokens.access), 401, "token_not_valid")


def test_another_users_session_is_404_and_stays_alive(api, alice, make_user):
    mine = open_session(alice)
    theirs = open_session(make_user("bob@example.com", password=None))

    response = api.delete(f"/api/auth/sessions/{theirs.session.id}/", **bearer(mine.access))

    assert_error(response, 404, "not_found")
    assert session(theirs.session.id).is_alive()
    assert me(api, theirs.access).status_code == 200


@pytest.mark.parametrize("session_id", [str(uuid.uuid4()), "not-a-uuid", "1", "%20", "x" * 300])
def test_unknown_or_malformed_session_ids_are_404(api, alice, session_id):
    tokens = open_session(alice)
    assert_error(api.delete(f"/api/auth/sessions/{session_id}/", **bearer(tokens.access)), 404, "not_found")


def test_logout_all_reports_how_many_sessions_ended(api, alice, make_user):
    tokens = open_session(alice)
    open_session(alice), open_session(alice)
    end_session(session=open_session(alice).session, reason=Session.RevokeReason.LOGOUT)  # already ended
    bob = open_session(make_user("bob@example.com", password=None))

    response = api.post("/api/auth/logout-all/", **bearer(tokens.access))

    assert response.status_code == 200
    assert response.json() == {"revoked": 3}
    assert not Session.objects.alive().filter(user=alice).exists()
    assert me(api, bob.access).status_code == 200


def test_logout_ends_the_session_of_the_token(api, alice):
    tokens = open_session(alice)
    response = api.post("/api/auth/logout/", {"refresh": tokens.refresh})
    assert response.status_code == 204 and response.content == b""
    assert session(tokens.session.id).revoke_reason == Session.RevokeReason.LOGOUT


@pytest.mark.parametrize("raw", ["unknown-token", "A" * 43])
def test_logout_with_an_unknown_token_is_204(api, raw):
    assert api.post("/api/auth/logout/", {"refresh": raw}).status_code == 204


def test_logout_twice_is_204_both_times(api, alice):
    tokens = open_session(alice)
    assert api.post("/api/auth/logout/", {"refresh": tokens.refresh}).status_code == 204
    assert api.post("/api/auth/logout/", {"refresh": tokens.refresh}).status_code == 204


# --- Cache-Control: no-store -------------------------------------------------------------------------
def assert_no_store(response) -> None:
    assert response["Cache-Control"] == "no-store", (response.status_code, response.content)


def test_token_responses_are_no_store(api, make_user):
    make_user()
    pair = login(api)
    response = api.post("/api/auth/login/", {"email": "alice@example.com", "password": PASSWORD})
    assert_no_store(response)
    rotated = refresh(api, pair["refresh"])
    assert rotated.status_code == 200
    assert_no_store(rotated)
    changed = api.post(
        "/api/auth/change-password/",
        {"current_password": PASSWORD, "new_password": "violet tangerine harbour lantern"},
        **bearer(rotated.json()["access"]),
    )
    assert changed.status_code == 200, changed.content
    assert_no_store(changed)


def test_other_auth_responses_are_no_store(api, alice):
    tokens = open_session(alice)
    other = open_session(alice)
    responses = [
        api.get("/api/auth/me/", **bearer(tokens.access)),
        api.patch("/api/auth/me/", {"name": "Alice"}, **bearer(tokens.access)),
        api.get("/api/auth/sessions/", **bearer(tokens.access)),
        api.delete(f"/api/auth/sessions/{other.session.id}/", **bearer(tokens.access)),
        api.post("/api/auth/logout/", {"refresh": "unknown"}),
        api.post("/api/auth/logout-all/", **bearer(tokens.access)),
        api.get("/api/auth/me/"),  # 401
        refresh(api, "garbage"),  # 401
        api.post("/api/auth/refresh/", {}),  # 400
    ]
    for response in responses:
        assert_no_store(response)


def auth_api_routes() -> list[str]:
    """Every URL pattern under /api/auth/, read from the resolver (so new endpoints are covered)."""
    routes = []

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                routes.append(prefix + str(pattern.pattern))

    walk(get_resolver().url_patterns)
    return sorted({route for route in routes if route.startswith("api/auth/")})


@pytest.mark.parametrize("route", auth_api_routes())
def test_every_auth_endpoint_answers_no_store(api, route):
    path = "/" + route.replace("<str:session_id>", str(uuid.uuid4()))
    # A method no endpoint implements: every view answers, with its own error handling, before any work.
    response = api.generic("TRACE", path)
    assert response.status_code in (401, 405), (route, response.status_code)
    assert_no_store(response)
