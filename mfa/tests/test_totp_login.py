"""An authenticator app (TOTP) and recovery codes through the API, on a frozen clock: set up and confirmed, a
login that stops at `mfa_required` and finishes with a code, a code never accepted twice, a step of drift either
way and no more, recovery codes used once, and the mfa_token single-use, short-lived and bound to its client."""
from datetime import timedelta

from django.core import mail
from django.utils import timezone
import pyotp
import pytest

from accounts.testing import LOGIN_URL, login
from authcore.models import SecurityEvent
from authcore.testing import PASSWORD, assert_error, bearer
from mfa.models import Authenticator, RecoveryCode
from sessions_app.models import Session
from sessions_app.tests.dpop_client import DPoPKey
from sessions_app.tests.helpers import claims

from .helpers import STEP, confirm_password, enrol_totp, password_step, second_step

MFA_STEP_URL = "/api/auth/login/mfa/"

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)  # the emails go out when the transaction commits
def test_setting_up_an_app_takes_a_code_from_it(api, user, clock):
    tokens = login(api)
    tokens["access"] = confirm_password(api, tokens["access"])
    started = api.post("/api/auth/mfa/totp/", **bearer(tokens["access"]))
    assert started.status_code == 201
    body = started.json()
    assert body["uri"].startswith("otpauth://totp/") and f"secret={body['secret']}" in body["uri"]
    assert body["qr_code_svg"].startswith("<svg") and "<script" not in body["qr_code_svg"]
    # Not a factor yet: a login still needs the password only, and the status says off.
    assert api.get("/api/auth/mfa/", **bearer(tokens["access"])).json()["enabled"] is False
    # The secret is stored encrypted, never in the clear.
    stored = Authenticator.objects.get()
    assert body["secret"].encode() not in bytes(stored.secret) and stored.confirmed_at is None

    wrong = api.post("/api/auth/mfa/totp/confirm/", {"code": "000000"}, format="json", **bearer(tokens["access"]))
    assert_error(wrong, 400, "mfa_code_incorrect")
    app = pyotp.TOTP(body["secret"])
    confirmed = api.post("/api/auth/mfa/totp/confirm/", {"code": app.now()}, format="json",
                         **bearer(tokens["access"]))
    codes = confirmed.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert RecoveryCode.objects.filter(user=user).count() == 10
    assert not RecoveryCode.objects.filter(code_hash__in=codes).exists()  # stored hashed
    status = api.get("/api/auth/mfa/", **bearer(tokens["access"])).json()
    assert status["enabled"] is True and status["methods"] == ["totp", "recovery_code"]
    assert status["recovery_codes_left"] == 10
    assert [message.subject for message in mail.outbox][-1].startswith("A second factor was added")
    assert SecurityEvent.objects.filter(kind="mfa_factor_added", user=user).exists()


def test_a_login_asks_for_the_code_and_the_session_says_mfa(api, user, clock):
    app, _, _ = enrol_totp(api)
    clock.shift(STEP)
    first = password_step(api, device_name="Phone")
    body = assert_error(first, 401, "mfa_required")
    assert body["methods"] == ["totp", "recovery_code"] and len(body["mfa_token"]) >= 40
    assert "access" not in body and Session.objects.filter(device_name="Phone").count() == 0

    done = second_step(api, body["mfa_token"], code=app.now())
    assert done.status_code == 200, done.content
    tokens = done.json()
    assert claims(tokens["access"])["amr"] == ["pwd", "otp", "mfa"]
    session = Session.objects.get(pk=tokens["session_id"])
    assert session.device_name == "Phone" and session.auth_methods == "pwd otp mfa"
    # The token worked once.
    assert_error(second_step(api, body["mfa_token"], code=app.now()), 401, "mfa_token_invalid")


def test_a_wrong_password_still_says_nothing_about_mfa(api, user, clock):
    enrol_totp(api)
    assert_error(password_step(api, password="wrong password"), 401, "invalid_credentials")


def test_a_code_is_accepted_once(api, user, clock):
    app, _, _ = enrol_totp(api)
    clock.shift(STEP)
    code = app.now()
    assert second_step(api, password_step(api).json()["mfa_token"], code=code).status_code == 200
    # The same code (same step) again, in a fresh login: refused.
    again = second_step(api, password_step(api).json()["mfa_token"], code=code)
    assert_error(again, 400, "mfa_code_incorrect")


@pytest.mark.parametrize(("steps", "accepted"), [(-1, True), (1, True), (-2, False), (2, False)])
def test_one_step_of_drift_either_way(api, user, clock, steps, accepted):
    app, _, _ = enrol_totp(api)
    clock.shift(STEP * 10)
    token = password_step(api).json()["mfa_token"]
    answer = second_step(api, token, code=app.at(timezone.now() + STEP * steps))
    if accepted:
        assert answer.status_code == 200, answer.content
    else:
        assert_error(answer, 400, "mfa_code_incorrect")


@pytest.mark.django_db(transaction=True)  # the emails go out when the transaction commits
def test_a_recovery_code_works_once_and_the_owner_hears_of_it(api, user, clock):
    _, codes, _ = enrol_totp(api)
    mail.outbox.clear()
    done = second_step(api, password_step(api).json()["mfa_token"], recovery_code=codes[0].lower())
    assert done.status_code == 200, done.content
    assert claims(done.json()["access"])["amr"] == ["pwd", "otp", "mfa"]
    assert mail.outbox[-1].subject.startswith("A recovery code of your")
    assert "9 codes are left" in mail.outbox[-1].body
    again = second_step(api, password_step(api).json()["mfa_token"], recovery_code=codes[0])
    assert_error(again, 400, "mfa_code_incorrect")
    assert SecurityEvent.objects.filter(kind="mfa_recovery_code_used", user=user).count() == 1


@pytest.mark.django_db(transaction=True)  # the emails go out when the transaction commits
def test_running_low_on_recovery_codes_is_said(api, user, clock):
    _, codes, _ = enrol_totp(api)
    for code in codes[:8]:
        assert second_step(api, password_step(api).json()["mfa_token"], recovery_code=code).status_code == 200
    assert "running out of recovery codes" in mail.outbox[-1].body
    assert "running out" not in mail.outbox[-2].body  # 3 left then: not yet low


def test_the_mfa_token_expires(api, user, clock, settings):
    app, _, _ = enrol_totp(api)
    token = password_step(api).json()["mfa_token"]
    clock.shift(timedelta(minutes=5, seconds=1))
    assert_error(second_step(api, token, code=app.now()), 401, "mfa_token_invalid")


def test_the_mfa_token_belongs_to_the_client_that_got_it(api, user, clock):
    app, _, _ = enrol_totp(api)
    clock.shift(STEP)
    token = api.post("/api/auth/login/", {"email": user.email, "password": PASSWORD}, format="json",
                     HTTP_USER_AGENT="Phone app/1.0").json()["mfa_token"]
    elsewhere = api.post("/api/auth/login/mfa/", {"mfa_token": token, "code": app.now()}, format="json",
                         HTTP_USER_AGENT="curl/8", REMOTE_ADDR="198.51.100.9")
    assert_error(elsewhere, 401, "mfa_token_invalid")
    # The code was not spent by the refused attempt: the rightful client finishes with it.
    done = api.post("/api/auth/login/mfa/", {"mfa_token": token, "code": app.now()}, format="json",
                    HTTP_USER_AGENT="Phone app/1.0")
    assert done.status_code == 200, done.content


def test_the_mfa_token_belongs_to_the_dpop_key_of_the_password_step(api, user, clock):
    app, _, _ = enrol_totp(api)
    clock.shift(STEP)
    key, other = DPoPKey(), DPoPKey()

    def second_step_with(token, proof_by=None):
        headers = proof_by.headers("POST", MFA_STEP_URL) if proof_by else {}
        return api.post(MFA_STEP_URL, {"mfa_token": token, "code": app.now()}, format="json", **headers)

    token = api.post(LOGIN_URL, {"email": user.email, "password": PASSWORD}, format="json",
                     **key.headers("POST", LOGIN_URL)).json()["mfa_token"]
    for wrong in (None, other):  # no proof, a proof by another key
        assert_error(second_step_with(token, wrong), 401, "mfa_token_invalid")
    done = second_step_with(token, key)
    assert done.status_code == 200, done.content
    assert claims(done.json()["access"])["cnf"] == {"jkt": key.thumbprint}

    # A password step without a proof is finished without one too.
    clock.shift(STEP)
    token = password_step(api).json()["mfa_token"]
    assert_error(second_step_with(token, key), 401, "mfa_token_invalid")
    assert second_step_with(token).status_code == 200


def test_wrong_answers_end_the_token_and_count_as_failed_logins(api, user, clock):
    app, _, _ = enrol_totp(api)
    clock.shift(STEP)
    token = password_step(api).json()["mfa_token"]
    for _ in range(5):
        assert_error(second_step(api, token, code="000000"), 400, "mfa_code_incorrect")
    assert_error(second_step(api, token, code=app.now()), 401, "mfa_token_invalid")
    assert SecurityEvent.objects.filter(kind="authn_login_mfa_fail", user=user).count() == 5


def test_wrong_second_factors_lock_the_account_like_wrong_passwords(api, user, clock, settings):
    """Counted for the client's network even from a device the account trusts (its device cookie spares it the
    lock for passwords, which says nothing of the second factor)."""
    settings.ACCOUNTS = {**settings.ACCOUNTS, "LOGIN_FAILURES_PER_CLIENT": 3}
    app, _, _ = enrol_totp(api)
    assert api.cookies.get("auth_device")  # this client is a device the account trusts
    clock.shift(STEP)
    for _ in range(3):
        token = password_step(api).json()["mfa_token"]
        assert_error(second_step(api, token, code="000000"), 400, "mfa_code_incorrect")
    # The second step is now refused for this client, even with the right code.
    token = password_step(api).json()["mfa_token"]
    assert_error(second_step(api, token, code=app.now()), 429, "rate_limited")


def test_the_password_alone_does_not_clear_the_failures(api, user, clock, settings):
    """An attacker who knows the password must not wipe the count between guesses of the code."""
    settings.ACCOUNTS = {**settings.ACCOUNTS, "LOGIN_FAILURES_PER_CLIENT": 3}
    enrol_totp(api)
    clock.shift(STEP)
    for _ in range(3):
        token = password_step(api).json()["mfa_token"]  # the right password each time
        second_step(api, token, code="000000")
    token = password_step(api).json()["mfa_token"]
    assert_error(second_step(api, token, code="000000"), 429, "rate_limited")


def test_an_unknown_token_reveals_nothing(api, user, clock):
    assert_error(second_step(api, "x" * 43, code="123456"), 401, "mfa_token_invalid")
    assert_error(second_step(api, "x" * 500, code="123456"), 400, "invalid")  # capped before any lookup


def test_exactly_one_answer(api, user, clock):
    enrol_totp(api)
    token = password_step(api).json()["mfa_token"]
    assert_error(second_step(api, token), 400, "invalid")
    assert_error(second_step(api, token, code="123456", recovery_code="AAAA-BBBB-CCCC-DDDD"), 400, "invalid")


def test_a_password_change_kills_a_waiting_second_step(api, user, clock):
    app, _, _ = enrol_totp(api)
    token = password_step(api).json()["mfa_token"]
    user.refresh_from_db()
    user.set_password("another long passphrase 42")
    user.save()
    clock.shift(STEP)
    assert_error(second_step(api, token, code=app.now()), 401, "mfa_token_invalid")


def test_the_logins_user_lookup_says_whether_the_user_has_a_factor(api, user, clock, django_assert_num_queries):
    """The login reads the user with whether they have a factor (accounts.second_factor.with_factor_flag): without
    one, methods_for asks nothing more; with one, it reads the factors as ever. A factor not yet confirmed is none."""
    from accounts import second_factor
    from accounts.models import User

    found = User.objects.get_by_natural_key("alice@example.com")
    assert found.has_second_factor is False
    with django_assert_num_queries(0):
        assert second_factor.methods_for(found) == []

    enrol_totp(api)
    found = User.objects.get_by_natural_key("alice@example.com")
    assert found.has_second_factor is True
    with django_assert_num_queries(2):  # the factors, and the recovery codes left
        assert second_factor.methods_for(found) == ["totp", "recovery_code"]
    # A user loaded any other way carries no flag: the factors are always read.
    loaded = User.objects.get(pk=user.pk)
    with django_assert_num_queries(2):
        assert second_factor.methods_for(loaded) == ["totp", "recovery_code"]
    assert_error(password_step(api), 401, "mfa_required")

    Authenticator.objects.filter(user=user).update(confirmed_at=None)
    assert User.objects.get_by_natural_key("alice@example.com").has_second_factor is False


def test_the_flag_is_of_the_user_it_was_read_with(api, user, clock, django_user_model):
    """Each user's own factors: a second account's factor flags only that account, and only its login stops."""
    other = django_user_model.objects.create_user("bob@example.com", PASSWORD, email_verified_at=timezone.now())
    enrol_totp(api, "bob@example.com")
    assert django_user_model.objects.get_by_natural_key("alice@example.com").has_second_factor is False
    assert django_user_model.objects.get_by_natural_key("bob@example.com").has_second_factor is True
    assert password_step(api).status_code == 200
    assert_error(password_step(api, "bob@example.com"), 401, "mfa_required")
    assert other.pk != user.pk
