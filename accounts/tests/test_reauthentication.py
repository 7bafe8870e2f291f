"""Reauthentication (accounts/reauthentication.py): the password typed again inside a session to change the
password or the address or to delete the account. Its failures count toward the login lock, and the one
that reaches REAUTH_MAX_FAILURES ends the session that guessed and tells the owner, so a stolen session gets
a bounded number of guesses a day, not 5 a minute for ever."""
from datetime import timedelta

from django.core import mail
import pytest
from rest_framework.test import APIClient

from accounts import events as account_events
from accounts.testing import login
from authcore.models import SecurityEvent
from authcore.testing import PASSWORD, assert_error, bearer
from sessions_app.models import Session
from sessions_app.tests.helpers import me

pytestmark = pytest.mark.django_db(transaction=True)  # the owner's email is queued on commit

WRONG = "certainly not the password"
NEW_PASSWORD = "violet tangerine harbour lantern"
GUESSES_SUBJECT = "We signed a device out of your Auth Service account"


@pytest.fixture
def policy(settings):
    """Small numbers, and a per-minute budget wide enough to reach them."""
    settings.ACCOUNTS = {**settings.ACCOUNTS, "REAUTH_MAX_FAILURES": 3, "LOGIN_FAILURES_PER_CLIENT": 50,
                         "LOGIN_LOCKOUT_THRESHOLD": 5, "LOGIN_LOCKOUT_BASE": timedelta(minutes=1)}
    settings.AUTHCORE = {**settings.AUTHCORE, "RATE_LIMITS": {
        "prove_password": {"account": "100/m"}, "change_password": {"account": "100/m"},
        "change_email": {"account": "100/h"}, "change_email_target": {"account": "100/h"},
        "delete_account": {"account": "100/m"}, "login": {"ip": "100/m"}}}


def signed_in(ip: str = "203.0.113.7") -> dict:
    return login(APIClient(), REMOTE_ADDR=ip)


def change_password(access: str, current: str = WRONG):
    return APIClient().post("/api/auth/change-password/", {"current_password": current, "new_password": NEW_PASSWORD},
                            REMOTE_ADDR="203.0.113.7", **bearer(access))


def change_email(access: str, password: str = WRONG):
    return APIClient().post("/api/auth/change-email/", {"password": password, "new_email": "new@example.com"},
                            REMOTE_ADDR="203.0.113.7", **bearer(access))


def delete_account(access: str, password: str = WRONG):
    return APIClient().post("/api/auth/delete-account/", {"password": password}, REMOTE_ADDR="203.0.113.7",
                            **bearer(access))


def guess_emails() -> list:
    return [message for message in mail.outbox if message.subject == GUESSES_SUBJECT]


def test_the_failure_that_reaches_the_ceiling_ends_the_session_and_tells_the_owner(user, policy):
    thief = signed_in()
    owner = signed_in("198.51.100.4")
    mail.outbox.clear()
    # One budget across the three actions.
    assert_error(change_password(thief["access"]), 400, "password_incorrect")
    assert_error(change_email(thief["access"]), 400, "password_incorrect")
    assert_error(delete_account(thief["access"]), 401, "session_ended")

    assert_error(me(APIClient(), thief["access"]), 401, "token_not_valid")
    assert Session.objects.get(pk=thief["session_id"]).revoke_reason == account_events.REAUTH_FAILED_REASON
    assert me(APIClient(), owner["access"]).status_code == 200  # the owner's other session is untouched
    [notice] = guess_emails()
    assert notice.to == ["alice@example.com"] and "after 3 wrong passwords in a row" in notice.body
    event = SecurityEvent.objects.get(kind=account_events.REAUTH_LOCKED)
    assert str(event.session_id) == thief["session_id"] and event.details["failures"] == 3


def test_a_second_stolen_session_gets_no_fresh_budget(user, policy):
    first, second = signed_in(), signed_in()
    for _ in range(2):
        assert_error(change_password(first["access"]), 400, "password_incorrect")
    assert_error(change_password(first["access"]), 401, "session_ended")
    # The count is the account's, for the day: the next guess from any session ends that one too.
    assert_error(change_password(second["access"]), 401, "session_ended")
    assert len(guess_emails()) == 2


def test_a_successful_reauthentication_or_login_forgets_the_count(user, policy):
    session = signed_in()
    for _ in range(2):
        assert_error(change_email(session["access"]), 400, "password_incorrect")
    assert change_email(session["access"], password=PASSWORD).status_code == 202
    for _ in range(2):  # counted from zero again
        assert_error(change_email(session["access"]), 400, "password_incorrect")
    signed_in()  # the owner logs in: the count goes again
    for _ in range(2):
        assert_error(change_email(session["access"]), 400, "password_incorrect")
    assert me(APIClient(), session["access"]).status_code == 200
    assert guess_emails() == []


def test_failures_in_a_session_count_toward_the_login_lock(user, policy, settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "REAUTH_MAX_FAILURES": 100}
    session = signed_in()
    for _ in range(5):  # LOGIN_LOCKOUT_THRESHOLD
        assert_error(change_password(session["access"]), 400, "password_incorrect")
    # A login from a new device is now locked, as after five failed logins.
    response = APIClient().post("/api/auth/login/", {"email": "alice@example.com", "password": PASSWORD},
                                REMOTE_ADDR="192.0.2.99")
    assert_error(response, 429, "rate_limited")


def test_the_lock_never_keeps_the_owners_session_from_reauthenticating(user, policy):
    owner = signed_in()
    for n in range(5):  # failures from many networks lock the account for new devices
        response = APIClient().post("/api/auth/login/", {"email": "alice@example.com", "password": WRONG},
                                    REMOTE_ADDR=f"10.{n}.0.1")
        assert response.status_code == 401
    assert change_email(owner["access"], password=PASSWORD).status_code == 202


def test_the_ceiling_is_held_under_the_nist_bound_by_a_system_check(settings):
    from accounts.checks import check_account_settings

    settings.ACCOUNTS = {**settings.ACCOUNTS, "REAUTH_MAX_FAILURES": 101}
    assert "accounts.E013" in [error.id for error in check_account_settings(None)]
    settings.ACCOUNTS = {**settings.ACCOUNTS, "REAUTH_MAX_FAILURES": 10}
    assert "accounts.E013" not in [error.id for error in check_account_settings(None)]


def test_past_the_ceiling_not_even_the_right_password_gets_through(user, policy):
    first, second = signed_in(), signed_in()
    for _ in range(2):
        assert_error(change_password(first["access"]), 400, "password_incorrect")
    assert_error(change_password(first["access"]), 401, "session_ended")
    # The next session that asks is ended before its password is checked: a right guess changes nothing.
    assert_error(change_password(second["access"], current=PASSWORD), 401, "session_ended")
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_without_a_session_the_ceiling_is_a_429(user, policy):
    """A caller with no session of ours (the admin's own password page) is refused at the ceiling too."""
    from accounts.flows.reauthentication import Proof, reauthenticate
    from authcore.errors import ServiceError
    from authcore.requestmeta import ClientInfo

    def attempt(password: str) -> str:
        try:
            reauthenticate(user=user, session_id=None, proof=Proof(password=password), client=ClientInfo(),
                           failure_event=account_events.PASSWORD_CHANGE_FAIL)
        except ServiceError as error:
            return error.code
        return "ok"

    assert [attempt(WRONG) for _ in range(3)] == ["password_incorrect", "password_incorrect", "rate_limited"]
    assert attempt(PASSWORD) == "rate_limited"


def test_guesses_in_a_stolen_session_do_not_spend_the_owners_device_budget(user, policy, settings):
    """Failures in a session are counted per session, not per device: a thief guessing in a session copied
    from the owner's device must not get that device refused at login."""
    settings.ACCOUNTS = {**settings.ACCOUNTS, "REAUTH_MAX_FAILURES": 100, "LOGIN_FAILURES_PER_CLIENT": 3,
                         "LOGIN_LOCKOUT_THRESHOLD": 50}
    device = APIClient()
    login(device, REMOTE_ADDR="203.0.113.7")
    stolen = login(device, REMOTE_ADDR="203.0.113.7")  # a second session of the same device
    assert Session.objects.get(pk=stolen["session_id"]).device_id
    for _ in range(3):
        assert_error(change_password(stolen["access"]), 400, "password_incorrect")
    assert_error(change_password(stolen["access"]), 429, "rate_limited")  # the session's own budget is spent
    assert login(device, REMOTE_ADDR="203.0.113.7")["access"]  # the device's is not


def test_the_admins_own_password_page_goes_through_reauthentication(make_user, policy):
    from django.test import Client

    operator = make_user("operator@example.com", is_staff=True, is_superuser=True)
    browser = Client()
    browser.force_login(operator)

    def change(old: str):
        return browser.post("/admin/password_change/", {"old_password": old, "new_password1": NEW_PASSWORD,
                                                         "new_password2": NEW_PASSWORD})

    for _ in range(2):
        refused = change(WRONG)
        assert refused.status_code == 200 and "old_password" in refused.context["form"].errors
    assert change(WRONG).status_code == 429  # the ceiling, for a sign-in that is no session of ours
    assert change(PASSWORD).status_code == 429
    assert SecurityEvent.objects.filter(kind=account_events.PASSWORD_CHANGE_FAIL, user=operator).count() == 3
    operator.refresh_from_db()
    assert operator.check_password(PASSWORD)
