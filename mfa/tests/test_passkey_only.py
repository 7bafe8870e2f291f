"""Accounts that sign in with passkeys only, through the API, with a software authenticator: giving up the password
(only with a passkey to sign in with, and only after a proof by a factor), what then refuses to leave the account
with nothing to sign in with, setting a password again, the sensitive actions without a password, and a reset link
that adds a new passkey instead of a password (with a code of the account's factors: the mailbox alone never takes
their place)."""
import json

from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.utils import timezone
import pyotp
import pytest

from accounts.testing import login
from accounts.tokens import make_link_token, password_reset_tokens
from authcore.models import SecurityEvent
from authcore.testing import PASSWORD, assert_error, bearer
from mfa import flows
from mfa.models import Authenticator
from sessions_app.models import Session

from .helpers import STEP, confirm_password, password_step
from .softkey import SoftKey
from .test_security_keys import add_key, passkey_login

pytestmark = pytest.mark.django_db

RESET_OPTIONS = "/api/auth/passkey/reset/options/"
RESET = "/api/auth/passkey/reset/"


def prove_with_key(api, access: str, key: SoftKey) -> str:
    """A reauthentication by the key (a factor): a fresh access token."""
    options = api.post("/api/auth/reauthenticate/options/", **bearer(access)).json()
    proven = api.post("/api/auth/reauthenticate/", {"webauthn": key.get_json(options)}, format="json",
                      **bearer(access))
    assert proven.status_code == 200, proven.content
    return proven.json()["access"]


def remove_password(api, access: str):
    return api.delete("/api/auth/mfa/password/", **bearer(access))


@pytest.fixture
def key() -> SoftKey:
    return SoftKey()


@pytest.fixture
def passwordless(api, user, key) -> dict:
    """A user who added a passkey and gave up the password: its recovery codes and the session's tokens."""
    tokens = login(api)
    added = add_key(api, tokens["access"], key)
    assert added.status_code == 201, added.content
    removed = remove_password(api, prove_with_key(api, tokens["access"], key))
    assert removed.status_code == 200, removed.content
    user.refresh_from_db()
    assert not user.has_usable_password()
    return {"recovery_codes": added.json()["recovery_codes"], **removed.json()}


def reset_token(user) -> str:
    user.refresh_from_db()
    return make_link_token(password_reset_tokens, user)


def reset_with_passkey(api, token: str, new_key: SoftKey, **answer):
    options = api.post(RESET_OPTIONS, {"token": token}, format="json")
    assert options.status_code == 200, options.content
    assert options.json()["authenticatorSelection"]["residentKey"] == "required"
    return api.post(RESET, {"token": token, "credential": new_key.create_json(options.json()), "name": "New phone",
                            **answer}, format="json")


@pytest.mark.django_db(transaction=True)  # the email goes out when the transaction commits
def test_giving_up_the_password(api, user, key):
    tokens = login(api)
    other = login(api)
    assert_error(remove_password(api, confirm_password(api, tokens["access"])), 400, "passkey_required")
    assert add_key(api, tokens["access"], key).status_code == 201
    # A proof by the password is not enough: a thief who knows it could lock the owner out of it.
    assert_error(remove_password(api, confirm_password(api, tokens["access"])), 403, "reauthentication_required")
    removed = remove_password(api, prove_with_key(api, tokens["access"], key))
    assert removed.status_code == 200, removed.content
    # Like a password change: every other session ends, the caller goes on in a new one.
    assert api.get("/api/auth/me/", **bearer(other["access"])).status_code == 401
    assert api.get("/api/auth/me/", **bearer(removed.json()["access"])).status_code == 200
    user.refresh_from_db()
    assert not user.has_usable_password()
    assert_error(password_step(api), 401, "invalid_credentials")  # the old password signs nobody in
    assert passkey_login(api, key).status_code == 200
    assert mail.outbox[-1].subject.endswith("password was removed")
    assert "from now on you sign in with your passkeys" in mail.outbox[-1].body
    assert SecurityEvent.objects.filter(kind="authn_password_change", details__how="removed").exists()
    assert_error(remove_password(api, prove_with_key(api, removed.json()["access"], key)), 400, "password_not_set")


def test_a_security_key_is_not_enough_to_give_up_the_password(api, user, key):
    tokens = login(api)
    assert add_key(api, tokens["access"], key, kind="security_key").status_code == 201
    assert_error(remove_password(api, prove_with_key(api, tokens["access"], key)), 400, "passkey_required")


def test_the_last_passkey_stays(api, user, key, passwordless):
    access = prove_with_key(api, passwordless["access"], key)
    key_id = Authenticator.objects.get(user=user).pk
    assert_error(api.delete(f"/api/auth/mfa/webauthn/{key_id}/", **bearer(access)), 409, "last_passkey")
    assert_error(api.delete("/api/auth/mfa/", **bearer(access)), 409, "last_passkey")
    second = SoftKey()
    assert add_key_proven(api, access, second).status_code == 201
    assert api.delete(f"/api/auth/mfa/webauthn/{key_id}/", **bearer(access)).status_code == 204
    assert passkey_login(api, second).status_code == 200


def add_key_proven(api, access: str, key: SoftKey):
    options = api.post("/api/auth/mfa/webauthn/register/options/", {"kind": "passkey"}, format="json",
                       **bearer(access)).json()
    return api.post("/api/auth/mfa/webauthn/register/", {"credential": key.create_json(options), "kind": "passkey"},
                    format="json", **bearer(access))


def test_setting_a_password_again_takes_a_factor(api, user, key, passwordless):
    access = passwordless["access"]
    change = {"new_password": "a brand new passphrase here"}
    # No password to give: a recent proof by a factor instead, which the passkey sign-in alone is not.
    assert_error(api.post("/api/auth/change-password/", change, format="json", **bearer(access)),
                 403, "reauthentication_required")
    changed = api.post("/api/auth/change-password/", change, format="json",
                       **bearer(prove_with_key(api, access, key)))
    assert changed.status_code == 200, changed.content
    user.refresh_from_db()
    assert user.has_usable_password()
    # The passkey is a factor: the password alone now stops at the second step.
    assert_error(password_step(api, password=change["new_password"]), 401, "mfa_required")


def test_an_account_with_a_password_must_give_it(api, user):
    tokens = login(api)
    changed = api.post("/api/auth/change-password/", {"new_password": "a brand new passphrase here"},
                       format="json", **bearer(tokens["access"]))
    assert assert_error(changed, 400, "invalid")["errors"][0]["field"] == "current_password"
    assert not SecurityEvent.objects.filter(kind="authn_password_change_fail").exists()  # no guess to count


def test_sensitive_actions_without_a_password(api, user, key, passwordless):
    """The API asks this account for no password (it has none): a reauthentication by a factor in the session stands
    in, and a fresh sign-in's token alone is not enough, as for an account that must give its password."""
    access = passkey_login(api, key).json()["access"]
    assert_error(api.post("/api/auth/change-email/", {"new_email": "new@example.com"}, format="json",
                          **bearer(access)), 403, "reauthentication_required")
    assert_error(api.post("/api/auth/delete-account/", {}, format="json", **bearer(access)), 403,
                 "reauthentication_required")
    assert_error(api.post("/api/auth/delete-account/", {"password": "anything"}, format="json", **bearer(access)),
                 403, "reauthentication_required")
    access = prove_with_key(api, access, key)
    assert api.post("/api/auth/change-email/", {"new_email": "new@example.com"}, format="json",
                    **bearer(access)).status_code == 202
    deleted = api.post("/api/auth/delete-account/", {}, format="json", **bearer(access))
    assert deleted.status_code == 204, deleted.content
    assert not Session.objects.filter(user_id=user.pk, revoked_at=None).exists()


def test_a_login_with_any_password_fails_alike(api, user, passwordless):
    assert_error(password_step(api, password=""), 400, "invalid")
    assert_error(password_step(api, password="!"), 401, "invalid_credentials")


@pytest.mark.django_db(transaction=True)
def test_a_reset_link_adds_a_new_passkey(api, user, key, passwordless):
    token = reset_token(user)
    new_key = SoftKey()
    refused = assert_error(reset_with_passkey(api, token, new_key), 400, "mfa_code_required")
    assert refused["methods"] == ["recovery_code"]  # the account's passkey is lost: its recovery codes remain
    assert_error(reset_with_passkey(api, token, new_key, recovery_code="AAAA-BBBB-CCCC-DDDD"), 400,
                 "mfa_code_incorrect")
    assert SecurityEvent.objects.filter(kind="mfa_passkey_recovery_fail", user=user).count() == 1
    done = reset_with_passkey(api, token, new_key, recovery_code=passwordless["recovery_codes"][0])
    assert done.status_code == 200, done.content
    assert done.json()["recovery_codes"] == []  # not the account's first factor
    # A reset: every session ended, nobody signed in, and the link works once.
    assert api.get("/api/auth/me/", **bearer(passwordless["access"])).status_code == 401
    assert_error(api.post(RESET_OPTIONS, {"token": token}, format="json"), 400, "invalid_token")
    added = Authenticator.objects.get(user=user, name="New phone")
    assert added.passkey and Authenticator.objects.filter(user=user, passkey=True).count() == 2
    user.refresh_from_db()
    assert not user.has_usable_password()
    assert passkey_login(api, new_key).status_code == 200
    subjects = [message.subject for message in mail.outbox]
    assert subjects[-1].startswith("A passkey was added to your") and "recovered with an emailed link" in \
        mail.outbox[-1].body
    assert SecurityEvent.objects.filter(kind="mfa_factor_added", details__via="password_reset").exists()


def test_a_reset_link_answers_with_the_apps_code_too(clock, api, user, key, passwordless):
    app, _, _ = enrol_totp_proven(api, passwordless["access"], key)
    clock.shift(STEP)  # the code of the step that confirmed the app is spent
    token = reset_token(user)
    refused = assert_error(reset_with_passkey(api, token, SoftKey()), 400, "mfa_code_required")
    assert refused["methods"] == ["totp", "recovery_code"]
    assert reset_with_passkey(api, token, SoftKey(), code=app.now()).status_code == 200


def enrol_totp_proven(api, access: str, key: SoftKey):
    access = prove_with_key(api, access, key)
    started = api.post("/api/auth/mfa/totp/", **bearer(access)).json()
    app = pyotp.TOTP(started["secret"])
    assert api.post("/api/auth/mfa/totp/confirm/", {"code": app.now()}, format="json",
                    **bearer(access)).status_code == 200
    return app, None, access


def test_with_no_factor_left_the_link_is_enough(api, user, key, passwordless, make_user):
    operator = make_user("operator@example.com", is_staff=True)
    assert flows.reset_by_operator(user=user, operator=operator)  # the owner lost everything
    done = reset_with_passkey(api, reset_token(user), SoftKey())
    assert done.status_code == 200, done.content
    assert len(done.json()["recovery_codes"]) == 10  # the first factor again: new codes, shown once


def test_an_account_with_a_password_resets_its_password(api, user):
    token = reset_token(user)
    assert_error(api.post(RESET_OPTIONS, {"token": token}, format="json"), 400, "passkey_reset_unavailable")
    assert_error(api.post(RESET, {"token": token, "credential": {"id": "x"}}, format="json"), 400,
                 "passkey_reset_unavailable")
    assert_error(api.post(RESET_OPTIONS, {"token": token[:-3] + "abc"}, format="json"), 400, "invalid_token")
    reset = api.post("/api/auth/password-reset/confirm/", {"token": token, "new_password": "a brand new passphrase"},
                     format="json")
    assert reset.status_code == 200, reset.content


# --- the pages -------------------------------------------------------------------------------------------------------
def page_client_with_reset_link(user) -> Client:
    """A browser that followed the emailed reset link (its token now in the browser's session)."""
    client = Client()
    assert client.get(f"/accounts/password-reset/{reset_token(user)}/")["Location"] == \
        "/accounts/password-reset/new-password/"
    return client


def test_the_reset_page_offers_a_passkey_only_without_a_password(api, user, key, passwordless, make_user):
    page = page_client_with_reset_link(user).get("/accounts/password-reset/new-password/").content.decode()
    assert 'href="/accounts/mfa/reset/passkey/"' in page
    make_user("bob@example.com")
    other = get_user_model().objects.get(email="bob@example.com")
    page = page_client_with_reset_link(other).get("/accounts/password-reset/new-password/").content.decode()
    assert "/accounts/mfa/reset/passkey/" not in page
    # And the passkey page itself sends an account with a password to choose a new one.
    assert page_client_with_reset_link(other).get("/accounts/mfa/reset/passkey/")["Location"] == \
        "/accounts/password-reset/new-password/"


def test_a_new_passkey_on_the_reset_page(api, user, key, passwordless):
    client = page_client_with_reset_link(user)
    page = client.get("/accounts/mfa/reset/passkey/").content.decode()
    assert 'data-webauthn="create"' in page and 'name="code"' in page  # the account still has recovery codes
    new_key = SoftKey()
    options = client.post("/accounts/mfa/reset/passkey/options/").json()
    credential = json.dumps(new_key.create_json(options))
    wrong = client.post("/accounts/mfa/reset/passkey/", {"credential": credential, "code": "AAAA-BBBB-CCCC-DDDD"})
    assert wrong.status_code == 200
    assert "The code is incorrect or has already been used." in wrong.content.decode()
    assert not Authenticator.objects.filter(user=user, passkey=True).exclude(pk=key_of(user).pk).exists()
    options = client.post("/accounts/mfa/reset/passkey/options/").json()
    done = client.post("/accounts/mfa/reset/passkey/", {"credential": json.dumps(new_key.create_json(options)),
                                                        "code": passwordless["recovery_codes"][1], "name": "Tablet"})
    assert done.status_code == 200 and "Your new passkey is added" in done.content.decode()
    assert Authenticator.objects.filter(user=user, name="Tablet", passkey=True).exists()
    # The link is spent and gone from the browser's session.
    assert client.get("/accounts/mfa/reset/passkey/").status_code == 400
    assert client.post("/accounts/mfa/reset/passkey/options/").json()["error"]["code"] == "invalid_token"


def key_of(user) -> Authenticator:
    return Authenticator.objects.get(user=user)


def test_giving_up_the_password_on_the_page(user, key, clock):
    client = Client()
    assert client.post("/accounts/login/", {"email": user.email, "password": PASSWORD}).status_code == 302
    assert "Stop using a password" not in client.get("/accounts/mfa/").content.decode()  # no passkey yet
    Authenticator.objects.create(user=user, kind=Authenticator.Kind.WEBAUTHN, name="Phone", passkey=True,
                                 confirmed_at=user.date_joined, credential_id="abc", public_key=b"k")
    assert "Stop using a password" in client.get("/accounts/mfa/").content.decode()
    # A factor must confirm it (the password would not do): to the confirmation page that asks for one.
    refused = client.post("/accounts/mfa/password/remove/")
    assert refused["Location"].startswith("/accounts/confirm-password/?next=") and "factor=1" in refused["Location"]
    Session.objects.filter(user=user).update(reauthenticated_at=timezone.now(), factor_proved_at=timezone.now())
    removed = client.post("/accounts/mfa/password/remove/", follow=True)
    assert "Your password is removed" in removed.content.decode()
    assert "Your account has no password" in removed.content.decode()
    user.refresh_from_db()
    assert not user.has_usable_password()
    # Setting one again: the page asks for a factor first, then only the new password.
    new_session = Session.objects.get(user=user, revoked_at=None)
    Session.objects.filter(pk=new_session.pk).update(factor_proved_at=None)
    assert "factor=1" in client.get("/accounts/password-change/")["Location"]
    Session.objects.filter(pk=new_session.pk).update(reauthenticated_at=timezone.now(),
                                                     factor_proved_at=timezone.now())
    form = client.get("/accounts/password-change/").content.decode()
    assert "Set a password" in form and 'name="current_password"' not in form
    changed = client.post("/accounts/password-change/", {"new_password": "a brand new passphrase here"})
    assert changed.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a brand new passphrase here")
