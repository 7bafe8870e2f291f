"""GET /api/auth/export/: what the service holds about the signed-in user (profile, sessions, security
events), capped in size and in queries, rate limited, audited, and never another user's data or a secret."""
from datetime import datetime, timedelta

from django.utils import timezone
import pytest

from accounts import events as account_events
from accounts.models import User
from authcore.audit import record_security_event
from authcore.models import SecurityEvent
from authcore.requestmeta import ClientInfo
from authcore.testing import assert_error, bearer
from sessions_app import events as session_events
from sessions_app import services as session_services
from sessions_app.models import Session
from sessions_app.tests.helpers import CHROME_UA, open_session

pytestmark = pytest.mark.django_db

URL = "/api/auth/export/"
IPHONE_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
             "Version/17.4 Mobile/15E148 Safari/604.1")
PHONE = ClientInfo(ip_address="198.51.100.20", user_agent=IPHONE_UA)
LAPTOP = ClientInfo(ip_address="203.0.113.7", user_agent=CHROME_UA)

SESSION_KEYS = {"id", "created_at", "last_used_at", "expires_at", "idle_expires_at", "revoked_at", "revoke_reason",
                "ip_address", "user_agent", "device", "device_name", "transport", "current"}
EVENT_KEYS = {"kind", "created_at", "ip_address", "user_agent", "session_id", "details", "by_operator"}


def export(api, access: str, **extra):
    return api.get(URL, **bearer(access), **extra)


def exported(api, access: str) -> dict:
    response = export(api, access)
    assert response.status_code == 200, response.content
    return response.json()


def when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None


@pytest.fixture
def phone_and_laptop(alice, clock):
    """Alice logged in on her phone, then a minute later on her laptop; the phone's session has ended."""
    phone = open_session(alice, PHONE)
    clock.shift(timedelta(minutes=1))
    laptop = session_services.start_session(user=alice, client=LAPTOP, device_name="Work laptop")
    clock.shift(timedelta(minutes=1))
    session_services.end_session(session=phone.session, reason=Session.RevokeReason.LOGOUT, client=PHONE)
    clock.shift(timedelta(minutes=1))
    return phone, laptop


def test_exports_the_profile(api, alice, phone_and_laptop):
    _, laptop = phone_and_laptop
    User.objects.filter(pk=alice.pk).update(pending_email="alice.new@example.com",
                                            pending_email_requested_at=timezone.now(), language="de")
    alice.refresh_from_db()

    profile = exported(api, laptop.access)["profile"]

    assert profile == {
        "id": str(alice.pk), "email": "alice@example.com", "name": alice.name,
        "date_joined": profile["date_joined"], "last_login": None,
        "email_verified_at": profile["email_verified_at"], "password_changed_at": None,
        "is_active": True, "is_staff": False,
        "pending_email": "alice.new@example.com", "pending_email_requested_at": profile["pending_email_requested_at"],
        "language": "de",
    }
    assert when(profile["date_joined"]) == alice.date_joined
    assert when(profile["email_verified_at"]) == alice.email_verified_at
    assert when(profile["pending_email_requested_at"]) == alice.pending_email_requested_at
    assert "password" not in profile


def test_exports_every_session_alive_and_ended_newest_first_without_token_hashes(api, phone_and_laptop):
    phone, laptop = phone_and_laptop

    response = export(api, laptop.access)

    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    sessions = response.json()["sessions"]
    assert (sessions["truncated"], sessions["limit"]) == (False, 200)
    newest, oldest = sessions["items"]
    assert (newest["id"], oldest["id"]) == (str(laptop.session.id), str(phone.session.id))
    assert set(newest) == set(oldest) == SESSION_KEYS  # no token hash, nothing unlisted
    assert (newest["current"], oldest["current"]) == (True, False)
    assert (newest["ip_address"], newest["user_agent"], newest["device"], newest["device_name"]) == (
        "203.0.113.7", CHROME_UA, "Chrome on Linux", "Work laptop")
    assert (oldest["ip_address"], oldest["user_agent"], oldest["device"]) == (
        "198.51.100.20", IPHONE_UA, "Mobile Safari on iOS")
    ended = Session.objects.get(pk=phone.session.id)
    assert (when(oldest["revoked_at"]), oldest["revoke_reason"]) == (ended.revoked_at, "logout")
    assert (newest["revoked_at"], newest["revoke_reason"]) == (None, "")
    assert when(oldest["created_at"]) == ended.created_at
    assert when(oldest["expires_at"]) == ended.expires_at
    assert when(oldest["idle_expires_at"]) == ended.idle_expires_at
    assert when(oldest["last_used_at"]) == ended.last_used_at
    assert newest["transport"] == "body"
    for session in (ended, Session.objects.get(pk=laptop.session.id)):
        assert session.current_token_hash not in response.content.decode()


def test_exports_the_users_security_events_newest_first_with_no_operator_identity(
        api, alice, make_user, phone_and_laptop, clock):
    phone, laptop = phone_and_laptop
    operator = make_user("operator@example.com", password=None, is_staff=True)
    record_security_event(account_events.PASSWORD_CHANGED, user=alice, client=LAPTOP, session_id=laptop.session.id,
                          how="changed")
    clock.shift(timedelta(minutes=1))
    tablet = open_session(alice, PHONE)
    operator_desk = ClientInfo(ip_address="192.0.2.99", user_agent="OperatorDesk/1.0")
    session_services.end_session(session=tablet.session, reason=Session.RevokeReason.ENDED_BY_ADMIN, actor=operator,
                                 client=operator_desk)

    response = export(api, laptop.access)

    events = response.json()["security_events"]
    assert (events["truncated"], events["limit"]) == (False, 1000)
    assert [event["kind"] for event in events["items"]] == [
        session_events.SESSION_REVOKED, account_events.PASSWORD_CHANGED, session_events.SESSION_REVOKED]
    by_admin, password_change, logout = events["items"]
    assert all(set(event) == EVENT_KEYS for event in events["items"])
    assert (by_admin["by_operator"], password_change["by_operator"], logout["by_operator"]) == (True, False, False)
    assert by_admin["session_id"] == str(tablet.session.id)
    assert by_admin["details"] == {"reason": "ended_by_admin"}
    assert (password_change["ip_address"], password_change["user_agent"]) == ("203.0.113.7", CHROME_UA)
    assert password_change["session_id"] == str(laptop.session.id)
    assert password_change["details"] == {"how": "changed"}
    assert (logout["session_id"], logout["ip_address"]) == (str(phone.session.id), "198.51.100.20")
    stored = SecurityEvent.objects.get(kind=account_events.PASSWORD_CHANGED)
    assert when(password_change["created_at"]) == stored.created_at
    # That an operator acted, never who.
    body = response.content.decode()
    assert str(operator.pk) not in body and "operator@example.com" not in body
    # Nor where from: the operator's address and browser are the operator's.
    assert "192.0.2.99" not in body and "OperatorDesk" not in body
    assert (by_admin["ip_address"], by_admin["user_agent"]) == (None, "")


def test_another_users_sessions_and_events_are_not_exported(api, phone_and_laptop, bystander):
    _, laptop = phone_and_laptop
    bob = bystander.session.user
    record_security_event(account_events.PASSWORD_CHANGED, user=bob, client=LAPTOP, session_id=bystander.session.id)

    data = exported(api, laptop.access)

    assert str(bystander.session.id) not in {session["id"] for session in data["sessions"]["items"]}
    assert account_events.PASSWORD_CHANGED not in {event["kind"] for event in data["security_events"]["items"]}
    assert str(bystander.session.id) not in str(data)
    assert "bob@example.com" not in str(data)


def test_each_list_is_cut_at_its_cap_newest_first_and_says_so(api, alice, settings, clock):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "EXPORT_MAX_SESSIONS": 2, "EXPORT_MAX_EVENTS": 3}
    opened = []
    for minute in range(4):
        opened.append(open_session(alice, LAPTOP))
        record_security_event(account_events.PASSWORD_CHANGED, user=alice, client=LAPTOP, attempt=minute)
        clock.shift(timedelta(minutes=1))
    record_security_event(account_events.PASSWORD_CHANGED, user=alice, client=LAPTOP, attempt=4)

    data = exported(api, opened[-1].access)

    assert data["sessions"] == {"items": data["sessions"]["items"], "truncated": True, "limit": 2}
    assert [session["id"] for session in data["sessions"]["items"]] == [str(t.session.id) for t in opened[:1:-1]]
    assert (data["security_events"]["truncated"], data["security_events"]["limit"]) == (True, 3)
    assert [event["details"]["attempt"] for event in data["security_events"]["items"]] == [4, 3, 2]


def test_a_list_exactly_at_its_cap_is_not_truncated(api, alice, settings, clock):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "EXPORT_MAX_SESSIONS": 2, "EXPORT_MAX_EVENTS": 2}
    first = open_session(alice, PHONE)
    clock.shift(timedelta(minutes=1))
    second = open_session(alice, LAPTOP)
    for attempt in range(2):
        record_security_event(account_events.PASSWORD_CHANGED, user=alice, client=LAPTOP, attempt=attempt)

    data = exported(api, second.access)

    assert data["sessions"]["truncated"] is False
    assert [session["id"] for session in data["sessions"]["items"]] == [str(second.session.id), str(first.session.id)]
    assert data["security_events"]["truncated"] is False
    assert len(data["security_events"]["items"]) == 2


def test_the_number_of_queries_is_fixed_and_each_list_is_one_bounded_query(
        api, alice, settings, django_assert_num_queries):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "EXPORT_MAX_SESSIONS": 5, "EXPORT_MAX_EVENTS": 7}
    current = open_session(alice, LAPTOP)
    # The user with the live-session check, the sessions, the events, the audit record of the export.
    with django_assert_num_queries(4) as captured:
        assert export(api, current.access).status_code == 200
    selects = [query["sql"] for query in captured.captured_queries[1:3]]
    assert '"sessions_app_session"' in selects[0] and "LIMIT 6" in selects[0]
    assert '"sessions_app_securityevent"' in selects[1] and "LIMIT 8" in selects[1]
    assert '"current_token_hash"' not in selects[0]

    for _ in range(10):
        other = open_session(alice, PHONE)
        session_services.end_session(session=other.session, reason=Session.RevokeReason.LOGOUT, client=PHONE)
    with django_assert_num_queries(4):
        response = export(api, current.access)
    assert response.status_code == 200
    assert response.json()["sessions"]["truncated"] is True
    assert response.json()["security_events"]["truncated"] is True


def test_each_export_is_recorded_as_a_security_event(api, alice, phone_and_laptop):
    _, laptop = phone_and_laptop

    first = exported(api, laptop.access)

    event = SecurityEvent.objects.get(kind=account_events.DATA_EXPORTED)
    assert (event.user, str(event.session_id), event.actor) == (alice, str(laptop.session.id), None)
    assert event.ip_address == "127.0.0.1"
    assert event.details == {"sessions": 2, "security_events": 1}
    # The export shows the account as it was when asked for; the next one shows that export.
    assert account_events.DATA_EXPORTED not in {e["kind"] for e in first["security_events"]["items"]}
    second = exported(api, laptop.access)
    assert second["security_events"]["items"][0]["kind"] == account_events.DATA_EXPORTED


def test_without_a_token_the_answer_is_401_and_nothing_is_exported(api, alice):
    response = api.get(URL)

    assert_error(response, 401, "not_authenticated")
    assert not SecurityEvent.objects.filter(kind=account_events.DATA_EXPORTED).exists()


def test_an_access_token_of_an_ended_session_is_refused(api, phone_and_laptop):
    phone, _ = phone_and_laptop  # ended, though its access token has not expired

    assert_error(export(api, phone.access), 401, "token_not_valid")
    assert not SecurityEvent.objects.filter(kind=account_events.DATA_EXPORTED).exists()


def test_exports_are_rate_limited_per_account_before_any_query(api, alice, settings, django_assert_num_queries):
    settings.AUTHCORE = {**settings.AUTHCORE, "RATE_LIMITS": {"export_data": {"account": "2/h"}}}
    current = open_session(alice, LAPTOP)
    for address in ("203.0.113.1", "203.0.113.2"):
        assert export(api, current.access, REMOTE_ADDR=address).status_code == 200

    # The user with the live-session check, then the audit record of the refusal: no export query.
    with django_assert_num_queries(2):
        response = export(api, current.access, REMOTE_ADDR="203.0.113.3")

    assert_error(response, 429, "rate_limited")
    assert int(response["Retry-After"]) > 0
    assert SecurityEvent.objects.filter(kind=account_events.DATA_EXPORTED).count() == 2


def test_the_openapi_schema_documents_the_export(api):
    schema = api.get("/api/schema/?format=json").json()

    operation = schema["paths"][URL]["get"]
    assert operation["tags"] == ["account"]
    assert {"200", "401", "429"} <= set(operation["responses"])
    assert "truncated" in operation["description"]
    components = schema["components"]["schemas"]

    def properties(reference: dict) -> dict:
        # A reference with a description of its own comes wrapped in allOf.
        reference = reference.get("allOf", [reference])[0]
        return components[reference["$ref"].rsplit("/", 1)[-1]]["properties"]

    body = properties(operation["responses"]["200"]["content"]["application/json"]["schema"])
    assert set(body) == {"exported_at", "profile", "sessions", "security_events"}
    sessions, events = properties(body["sessions"]), properties(body["security_events"])
    assert set(sessions) == set(events) == {"items", "truncated", "limit"}
    assert set(properties(sessions["items"]["items"])) == SESSION_KEYS
    assert set(properties(events["items"]["items"])) == EVENT_KEYS
    assert "pending_email" in properties(body["profile"])
