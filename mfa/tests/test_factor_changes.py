"""Who may change the factors: every change asks for a recent proof in the caller's session, and once the account
has a factor, that proof must be a factor: a stolen access token alone changes nothing, and a password alone
neither removes the last factor nor makes recovery codes nor adds a second app."""
from datetime import timedelta

from django.core import mail
import pyotp
import pytest

from accounts.testing import login
from authcore.models import SecurityEvent
from authcore.testing import PASSWORD, assert_error, bearer
from mfa.models import Authenticator, RecoveryCode
from sessions_app.tests.helpers import claims, rotate

from .helpers import STEP, confirm_password, enrol_totp, password_step, second_step

pytestmark = pytest.mark.django_db
WINDOW_PASSED = timedelta(minutes=6)


def mfa_login(api, app) -> dict:
    return second_step(api, password_step(api).json()["mfa_token"], code=app.now()).json()


def later(api, clock, tokens: dict) -> dict:
    """Past the recent-proof window, with a refreshed access token (the sign-in's time in it unchanged)."""
    clock.shift(WINDOW_PASSED)
    return rotate(api, tokens["refresh"])


def reauthenticate(api, access: str, **proof):
    return api.post("/api/auth/reauthenticate/", proof, format="json", **bearer(access))


def test_an_old_sign_in_cannot_set_up_an_app(api, user, clock):
    tokens = later(api, clock, login(api))
    assert_error(api.post("/api/auth/mfa/totp/", **bearer(tokens["access"])), 403, "reauthentication_required")
    fresh = reauthenticate(api, tokens["access"], password=PASSWORD).json()["access"]
    assert api.post("/api/auth/mfa/totp/", **bearer(fresh)).status_code == 201


@pytest.mark.parametrize(("method", "url"), [("delete", "/api/auth/mfa/totp/"), ("delete", "/api/auth/mfa/"),
                                             ("post", "/api/auth/mfa/recovery-codes/"),
                                             ("post", "/api/auth/mfa/totp/")])
def test_a_password_alone_changes_no_factor(api, user, clock, method, url):
    app, _, _ = enrol_totp(api)
    clock.shift(STEP)
    tokens = later(api, clock, mfa_login(api, app))
    # The stolen access token alone: refused.
    assert_error(getattr(api, method)(url, **bearer(tokens["access"])), 403, "reauthentication_required")
    # With the password proven again (a thief who knows it): still refused.
    with_password = reauthenticate(api, tokens["access"], password=PASSWORD)
    assert with_password.status_code == 200
    assert_error(getattr(api, method)(url, **bearer(with_password.json()["access"])), 403,
                 "reauthentication_required")
    assert Authenticator.objects.filter(user=user, confirmed_at__isnull=False).count() == 1
    assert RecoveryCode.objects.filter(user=user).count() == 10


@pytest.mark.django_db(transaction=True)  # the email goes out when the transaction commits
def test_a_code_proves_it_and_removing_the_app_turns_mfa_off(api, user, clock):
    app, _, _ = enrol_totp(api)
    clock.shift(STEP)
    tokens = later(api, clock, mfa_login(api, app))
    proven = reauthenticate(api, tokens["access"], code=app.now())
    assert proven.status_code == 200, proven.content
    access = proven.json()["access"]
    assert claims(access)["auth_time"] > claims(tokens["access"])["auth_time"]
    mail.outbox.clear()
    assert api.delete("/api/auth/mfa/totp/", **bearer(access)).status_code == 204
    assert not Authenticator.objects.filter(user=user).exists() and not RecoveryCode.objects.filter(user=user).exists()
    assert mail.outbox[-1].subject.startswith("Two-step sign-in was turned off")
    assert SecurityEvent.objects.filter(kind="mfa_factor_removed", user=user).exists()
    # A login needs the password only again.
    assert login(api)["access"]


def test_a_recovery_code_proves_it_too(api, user, clock):
    app, codes, _ = enrol_totp(api)
    clock.shift(STEP)
    tokens = later(api, clock, mfa_login(api, app))
    proven = reauthenticate(api, tokens["access"], recovery_code=codes[3]).json()["access"]
    regenerated = api.post("/api/auth/mfa/recovery-codes/", **bearer(proven))
    new_codes = regenerated.json()["recovery_codes"]
    assert len(new_codes) == 10 and not set(new_codes) & set(codes)
    # The old codes are dead.
    assert_error(second_step(api, password_step(api).json()["mfa_token"], recovery_code=codes[0]), 400,
                 "mfa_code_incorrect")
    assert second_step(api, password_step(api).json()["mfa_token"], recovery_code=new_codes[0]).status_code == 200


def test_a_wrong_code_in_reauthentication_counts_like_a_wrong_password(api, user, clock, settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "REAUTH_MAX_FAILURES": 3}
    app, _, _ = enrol_totp(api)
    clock.shift(STEP)
    tokens = mfa_login(api, app)
    for _ in range(2):
        assert_error(reauthenticate(api, tokens["access"], code="000000"), 400, "mfa_code_incorrect")
    # The third ends the session that guessed.
    assert_error(reauthenticate(api, tokens["access"], code="000000"), 401, "session_ended")
    assert_error(api.get("/api/auth/me/", **bearer(tokens["access"])), 401, "token_not_valid")


def test_an_account_without_a_factor_cannot_answer_with_a_code(api, user, clock):
    tokens = login(api)
    assert_error(reauthenticate(api, tokens["access"], code="123456"), 400, "mfa_code_incorrect")


def test_a_second_app_is_refused_while_one_is_set_up(api, user, clock):
    app, _, _ = enrol_totp(api)
    clock.shift(STEP)
    tokens = mfa_login(api, app)
    # Even right after a sign-in with the factor: a reauthentication, with a factor.
    assert_error(api.post("/api/auth/mfa/totp/", **bearer(tokens["access"])), 403, "reauthentication_required")
    clock.shift(STEP)
    tokens["access"] = reauthenticate(api, tokens["access"], code=app.now()).json()["access"]
    assert_error(api.post("/api/auth/mfa/totp/", **bearer(tokens["access"])), 409, "totp_already_enabled")


def test_starting_again_replaces_an_unconfirmed_secret(api, user, clock):
    tokens = login(api)
    tokens["access"] = confirm_password(api, tokens["access"])
    first = api.post("/api/auth/mfa/totp/", **bearer(tokens["access"])).json()["secret"]
    second = api.post("/api/auth/mfa/totp/", **bearer(tokens["access"])).json()["secret"]
    assert first != second and Authenticator.objects.filter(user=user).count() == 1

    stale = api.post("/api/auth/mfa/totp/confirm/", {"code": pyotp.TOTP(first).now()}, format="json",
                     **bearer(tokens["access"]))
    assert_error(stale, 400, "mfa_code_incorrect")


def test_confirming_with_nothing_started(api, user, clock):
    tokens = login(api)
    tokens["access"] = confirm_password(api, tokens["access"])
    assert_error(api.post("/api/auth/mfa/totp/confirm/", {"code": "123456"}, format="json",
                          **bearer(tokens["access"])), 400, "totp_not_started")


def test_recovery_codes_need_a_factor_first(api, user, clock):
    tokens = login(api)
    assert_error(api.post("/api/auth/mfa/recovery-codes/", **bearer(tokens["access"])), 400, "mfa_not_enabled")


def test_changing_the_password_keeps_the_sign_in_methods_not_a_fresh_factor(api, user, clock):
    """The session a password change opens continues the one it replaces: still signed in with the factor (its
    `amr`), but the password just typed does not count as a new proof by a factor."""
    app, _, _ = enrol_totp(api)
    clock.shift(STEP)
    tokens = later(api, clock, mfa_login(api, app))
    changed = api.post("/api/auth/change-password/", {"current_password": PASSWORD,
                                                      "new_password": "a brand new passphrase 2030"},
                       format="json", **bearer(tokens["access"]))
    assert changed.status_code == 200, changed.content
    access = changed.json()["access"]
    assert claims(access)["amr"] == ["pwd", "otp", "mfa"]
    assert_error(api.delete("/api/auth/mfa/totp/", **bearer(access)), 403, "reauthentication_required")


def test_removing_an_app_still_being_set_up_is_no_change(api, user, clock):
    """Nothing to tell the owner of: the app never was a factor."""
    tokens = login(api)
    tokens["access"] = confirm_password(api, tokens["access"])
    assert api.post("/api/auth/mfa/totp/", **bearer(tokens["access"])).status_code == 201
    assert_error(api.delete("/api/auth/mfa/totp/", **bearer(tokens["access"])), 400, "mfa_not_enabled")
    assert_error(api.delete("/api/auth/mfa/", **bearer(tokens["access"])), 400, "mfa_not_enabled")
    assert not SecurityEvent.objects.filter(kind="mfa_factor_removed").exists()
