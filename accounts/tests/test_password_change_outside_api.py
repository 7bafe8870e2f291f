"""A password stored outside the API (the admin's own "Change password" page, `manage.py changepassword`)
means what any password change means: every API session of the user ends, the change is audited and
the user is told by email."""
import pytest
from django.core import mail
from django.core.management import CommandError, call_command, get_commands
from django.test import Client
from django.urls import reverse

from accounts.models import User
from sessions_app.models import SecurityEvent, Session
from sessions_app.tests.fixtures import PASSWORD, _fresh_cache, bearer, login  # noqa: F401  (autouse fixture)

from .helpers import emails_to

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "violet tundra sparrow 4417 quay"
OPERATOR = "operator@example.com"
Kind = SecurityEvent.Kind


def api_rejects(api, tokens: dict) -> bool:
    """Both halves of a session's token pair are refused."""
    me = api.get("/api/auth/me/", **bearer(tokens["access"]))
    refresh = api.post("/api/auth/refresh/", {"refresh": tokens["refresh"]})
    return me.status_code == 401 and refresh.status_code == 401


def api_accepts_access(api, tokens: dict) -> bool:
    return api.get("/api/auth/me/", **bearer(tokens["access"])).status_code == 200


def password_changed_emails(address: str) -> list:
    return [message for message in emails_to(address) if "password was changed" in message.subject]


# --- the admin's own "Change password" page ------------------------------------------------------------------
@pytest.fixture
def operator(make_user):
    return make_user(OPERATOR, is_staff=True)


@pytest.fixture
def operator_browser(operator) -> Client:
    browser = Client()
    browser.force_login(operator)
    return browser


def change_own_password(browser: Client, old: str = PASSWORD, new: str = NEW_PASSWORD):
    return browser.post(reverse("admin:password_change"),
                        {"old_password": old, "new_password1": new, "new_password2": new})


def test_changing_ones_own_password_in_the_admin_ends_every_api_session(
        api, operator, operator_browser, django_capture_on_commit_callbacks):
    laptop, phone = login(api, OPERATOR), login(api, OPERATOR)
    changed_before = operator.password_changed_at

    with django_capture_on_commit_callbacks(execute=True):
        response = change_own_password(operator_browser)

    assert response.status_code == 302, response.content
    operator.refresh_from_db()
    assert operator.check_password(NEW_PASSWORD) and operator.password_changed_at > changed_before
    assert api_rejects(api, laptop) and api_rejects(api, phone)
    assert set(Session.objects.filter(user=operator).values_list("revoke_reason", flat=True)) == {
        Session.RevokeReason.PASSWORD_CHANGED}
    event = SecurityEvent.objects.get(kind=Kind.PASSWORD_CHANGED)
    assert (event.user_id, event.actor_id, event.details["sessions_ended"]) == (operator.pk, operator.pk, 2)
    assert len(password_changed_emails(OPERATOR)) == 1
    # The new password works over the API; the admin's own browser session is kept (Django's behaviour).
    assert api_accepts_access(api, login(api, OPERATOR, NEW_PASSWORD))
    assert operator_browser.get(reverse("admin:index")).status_code == 200


def test_a_wrong_old_password_in_the_admin_ends_nothing(
        api, operator, operator_browser, django_capture_on_commit_callbacks):
    tokens = login(api, OPERATOR)
    changed_before = operator.password_changed_at

    with django_capture_on_commit_callbacks(execute=True):
        response = change_own_password(operator_browser, old="not the current password at all")

    assert response.status_code == 200
    assert "old_password" in response.context["form"].errors
    operator.refresh_from_db()
    assert operator.check_password(PASSWORD) and operator.password_changed_at == changed_before
    assert api_accepts_access(api, tokens)
    assert not SecurityEvent.objects.filter(kind=Kind.PASSWORD_CHANGED).exists()
    assert mail.outbox == []


def test_the_admin_password_page_leaves_other_users_sessions_alone(
        api, make_user, operator, operator_browser, django_capture_on_commit_callbacks):
    make_user("bob@example.com")
    bobs = login(api, "bob@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        change_own_password(operator_browser)

    assert api_accepts_access(api, bobs)
    assert emails_to("bob@example.com") == []


# --- manage.py changepassword ----------------------------------------------------------------------------------
@pytest.fixture
def typed_password(monkeypatch):
    """What the operator types at both prompts of Django's changepassword."""
    monkeypatch.setattr("django.contrib.auth.management.commands.changepassword.Command._get_pass",
                        lambda self, prompt="Password: ": NEW_PASSWORD)


def test_changepassword_is_our_command():
    # Django runs the command of the first app in INSTALLED_APPS that has one: `accounts` must come before
    # `django.contrib.auth`, or `manage.py changepassword` silently skips ending the sessions.
    assert get_commands()["changepassword"] == "accounts"


def test_changepassword_ends_the_users_sessions_and_tells_them(
        api, user, typed_password, django_capture_on_commit_callbacks, capsys):
    sessions = [login(api), login(api)]
    changed_before = user.password_changed_at

    with django_capture_on_commit_callbacks(execute=True):
        call_command("changepassword", user.email)

    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD) and user.password_changed_at > changed_before
    assert all(api_rejects(api, tokens) for tokens in sessions)
    event = SecurityEvent.objects.get(kind=Kind.PASSWORD_CHANGED)
    assert (event.user_id, event.actor_id, event.details["sessions_ended"]) == (user.pk, None, 2)
    assert len(password_changed_emails(user.email)) == 1
    assert "Ended 2 session(s) of alice@example.com." in capsys.readouterr().out


def test_changepassword_leaves_other_users_alone(api, make_user, user, typed_password,
                                                 django_capture_on_commit_callbacks):
    make_user("bob@example.com")
    bobs = login(api, "bob@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        call_command("changepassword", user.email)

    assert api_accepts_access(api, bobs)
    assert emails_to("bob@example.com") == []


def test_changepassword_for_an_unknown_email_is_a_command_error(api, user, typed_password,
                                                                 django_capture_on_commit_callbacks):
    tokens = login(api)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(CommandError, match="does not exist"):
        call_command("changepassword", "nobody@example.com")

    assert api_accepts_access(api, tokens)
    assert mail.outbox == []
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)


def test_changepassword_finds_the_user_whatever_the_case_of_the_email(api, user, typed_password,
                                                                      django_capture_on_commit_callbacks):
    tokens = login(api)

    with django_capture_on_commit_callbacks(execute=True):
        call_command("changepassword", "ALICE@Example.COM")

    assert User.objects.get(pk=user.pk).check_password(NEW_PASSWORD)
    assert api_rejects(api, tokens)


def test_a_system_check_refuses_accounts_after_django_auth(settings):
    from accounts.checks import check_account_settings

    apps = [app for app in settings.INSTALLED_APPS if app != "accounts"]
    settings.INSTALLED_APPS = [*apps, "accounts"]
    assert "accounts.E006" in {message.id for message in check_account_settings()}
