"""A password stored outside the API (the admin's own "Change password" page, `manage.py changepassword`,
a plain `set_password(); save()` in a shell) means what any password change means: every API session of
the user ends, the change is audited and the user is told by email. One hook does it (User.save)."""
from django.contrib.auth.hashers import PBKDF2PasswordHasher, make_password
from django.core import mail
from django.core.management import CommandError, call_command, get_commands
from django.test import Client
from django.urls import reverse
import pytest

from accounts import events as account_events
from accounts.models import User
from accounts.testing import login
from authcore.models import SecurityEvent
from authcore.testing import PASSWORD, bearer
from sessions_app.models import Session

from .helpers import emails_to

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "violet tundra sparrow 4417 quay"
OPERATOR = "operator@example.com"


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
        account_events.PASSWORD_CHANGED_REASON}
    event = SecurityEvent.objects.get(kind=account_events.PASSWORD_CHANGED)
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
    assert not SecurityEvent.objects.filter(kind=account_events.PASSWORD_CHANGED).exists()
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
    # `django.contrib.auth`, or `manage.py changepassword` finds users by the exact stored address only.
    assert get_commands()["changepassword"] == "accounts"


def test_changepassword_ends_the_users_sessions_and_tells_them(
        api, user, typed_password, django_capture_on_commit_callbacks):
    sessions = [login(api), login(api)]
    changed_before = user.password_changed_at

    with django_capture_on_commit_callbacks(execute=True):
        call_command("changepassword", user.email)

    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD) and user.password_changed_at > changed_before
    assert all(api_rejects(api, tokens) for tokens in sessions)
    event = SecurityEvent.objects.get(kind=account_events.PASSWORD_CHANGED)
    assert (event.user_id, event.actor_id, event.details["sessions_ended"]) == (user.pk, None, 2)
    assert len(password_changed_emails(user.email)) == 1


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


# --- anything else that saves a password --------------------------------------------------------------------
def test_a_password_saved_from_a_shell_ends_every_session(api, user, django_capture_on_commit_callbacks):
    sessions = [login(api), login(api)]

    with django_capture_on_commit_callbacks(execute=True):
        user.set_password(NEW_PASSWORD)
        user.save()

    assert all(api_rejects(api, tokens) for tokens in sessions)
    event = SecurityEvent.objects.get(kind=account_events.PASSWORD_CHANGED)
    assert (event.user_id, event.actor_id, event.details["how"], event.details["sessions_ended"]) == (
        user.pk, None, "set", 2)
    assert len(password_changed_emails(user.email)) == 1


def test_disabling_password_login_from_a_shell_ends_every_session(api, user):
    tokens = login(api)

    user.set_unusable_password()
    user.save(update_fields=["password"])

    assert api_rejects(api, tokens)
    assert User.objects.get(pk=user.pk).password_changed_at is not None


def test_the_hash_upgrade_at_login_is_no_password_change(api, make_user):
    """Django stores a rehashed password when a login finds an old hasher or parameters: nothing ends."""
    make_user("old@example.com", password=None)
    User.objects.filter(email="old@example.com").update(password=PBKDF2PasswordHasher().encode(PASSWORD, "salt1234"))
    changes_before = SecurityEvent.objects.filter(kind=account_events.PASSWORD_CHANGED).count()
    first = login(api, "old@example.com")

    second = login(api, "old@example.com")  # the first login upgraded the hash to Argon2id

    assert User.objects.get(email="old@example.com").password.startswith("argon2")
    assert api_accepts_access(api, first) and api_accepts_access(api, second)
    assert SecurityEvent.objects.filter(kind=account_events.PASSWORD_CHANGED).count() == changes_before


@pytest.mark.parametrize("store", [
    pytest.param(lambda user: (setattr(user, "password", make_password(NEW_PASSWORD)), user.save()), id="assigned"),
    pytest.param(lambda user: User.objects.filter(pk=user.pk).update(password=make_password(NEW_PASSWORD)),
                 id="update"),
    pytest.param(lambda user: (setattr(user, "password", make_password(NEW_PASSWORD)),
                               User.objects.bulk_update([user], ["password"])), id="bulk_update"),
])
def test_a_hash_stored_any_other_way_ends_every_session(api, user, store):
    tokens = login(api)

    store(User.objects.get(pk=user.pk))

    assert api_rejects(api, tokens)
    assert User.objects.get(pk=user.pk).check_password(NEW_PASSWORD)
    assert SecurityEvent.objects.filter(kind=account_events.PASSWORD_CHANGED, user=user).count() == 1


def test_a_new_password_not_written_by_the_save_changes_nothing(api, user):
    """set_password() then a save of other fields stores no password: nothing ends, nobody is told."""
    tokens = login(api)
    loaded = User.objects.get(pk=user.pk)
    loaded.set_password(NEW_PASSWORD)
    loaded.name = "Alice"

    loaded.save(update_fields=["name"])

    assert api_accepts_access(api, tokens)
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)
