"""Second factors on the pages, through Django's test client: setting up an app with its QR code, the second step
of signing in (an app's code or a recovery code in one box), changes that ask for a factor and not a password, and
the admin: its login finishes on the second step, staff can be required to have a factor, operators reset one."""
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
import pyotp
import pytest

from authcore.models import SecurityEvent
from authcore.testing import PASSWORD
from mfa.models import Authenticator, RecoveryCode
from sessions_app.browser import SESSION_ID_KEY
from sessions_app.models import Session

from .helpers import STEP

pytestmark = pytest.mark.django_db


def sign_in(client: Client, email: str = "alice@example.com", next: str | None = None):
    data = {"email": email, "password": PASSWORD, **({"next": next} if next else {})}
    return client.post("/accounts/login/", data)


def set_up_app(client: Client) -> tuple[pyotp.TOTP, str]:
    """From the factors' page: confirm the password (the sign-in is no proof for this), start, read the key off the
    page, confirm; (the app, the page of codes)."""
    assert client.post("/accounts/mfa/totp/start/")["Location"].startswith("/accounts/confirm-password/?next=")
    assert client.post("/accounts/confirm-password/", {"password": PASSWORD}).status_code == 302
    assert client.post("/accounts/mfa/totp/start/")["Location"] == "/accounts/mfa/totp/"
    page = client.get("/accounts/mfa/totp/").content.decode()
    assert "<svg" in page and "<script" not in page
    secret = page.split('<code class="secret">')[1].split("</code>")[0]
    app = pyotp.TOTP(secret)
    codes_page = client.post("/accounts/mfa/totp/", {"code": app.now()})
    assert codes_page.status_code == 200
    return app, codes_page.content.decode()


@pytest.fixture
def signed_in(user, clock) -> Client:
    client = Client()
    assert sign_in(client).status_code == 302
    return client


def age(client: Client, minutes: int = 10) -> None:
    """Every proof of this browser's session happened `minutes` ago: outside the 5-minute window."""
    session = Session.objects.get(pk=client.session[SESSION_ID_KEY])
    back = timedelta(minutes=minutes)
    Session.objects.filter(pk=session.pk).update(
        created_at=session.created_at - back,
        reauthenticated_at=session.reauthenticated_at and session.reauthenticated_at - back,
        factor_proved_at=session.factor_proved_at and session.factor_proved_at - back)


def test_setting_up_an_app_shows_the_codes_once(signed_in, user, clock):
    assert "Two-step sign-in is off" in signed_in.get("/accounts/mfa/").content.decode()
    app, codes_page = set_up_app(signed_in)
    codes = RecoveryCode.objects.filter(user=user)
    assert codes.count() == 10 and codes_page.count('<li><code>') == 10
    page = signed_in.get("/accounts/mfa/").content.decode()
    assert "Two-step sign-in is on" in page and "10 unused recovery codes" in page
    assert "<code>" not in page  # never shown again


def test_a_wrong_code_keeps_the_app_off(signed_in, user, clock):
    signed_in.post("/accounts/confirm-password/", {"password": PASSWORD})
    signed_in.post("/accounts/mfa/totp/start/")
    page = signed_in.post("/accounts/mfa/totp/", {"code": "000000"})
    assert "The code is incorrect" in page.content.decode() and "<svg" in page.content.decode()
    assert not Authenticator.objects.active().exists()


def test_signing_in_takes_the_second_step(signed_in, user, clock):
    app, _ = set_up_app(signed_in)
    clock.shift(STEP)
    browser = Client()
    first = sign_in(browser, next="/accounts/sessions/")
    assert first["Location"] == "/accounts/login/verify/?next=%2Faccounts%2Fsessions%2F"
    assert SESSION_ID_KEY not in browser.session  # not signed in yet
    assert browser.get("/accounts/").status_code == 302
    wrong = browser.post(first["Location"], {"code": "000000"})
    assert "The code is incorrect" in wrong.content.decode()
    done = browser.post(first["Location"], {"code": app.now()})
    assert done["Location"] == "/accounts/sessions/"
    session = Session.objects.get(pk=browser.session[SESSION_ID_KEY])
    assert session.auth_methods == "pwd otp mfa" and session.transport == "browser"


def test_a_recovery_code_in_the_same_box(signed_in, user, clock):
    _, codes_page = set_up_app(signed_in)
    code = codes_page.split("<li><code>")[1].split("</code>")[0]
    browser = Client()
    step = sign_in(browser)["Location"]
    assert browser.post(step, {"code": code.lower().replace("-", " ")})["Location"] == "/accounts/"
    assert RecoveryCode.objects.filter(user=user, used_at__isnull=False).count() == 1


def test_the_second_step_without_a_first(client, user):
    assert client.get("/accounts/login/verify/")["Location"] == "/accounts/login/"


def test_changing_a_factor_asks_for_a_factor_not_the_password(signed_in, user, clock):
    app, _ = set_up_app(signed_in)
    age(signed_in)
    removal = signed_in.post("/accounts/mfa/totp/remove/")
    assert removal["Location"] == "/accounts/confirm-password/?next=%2Faccounts%2Fmfa%2F&factor=1"
    page = signed_in.get(removal["Location"]).content.decode()
    assert 'name="password"' not in page and 'name="code"' in page
    # A password posted there proves nothing.
    signed_in.post(removal["Location"], {"password": PASSWORD})
    assert signed_in.post("/accounts/mfa/totp/remove/")["Location"].startswith("/accounts/confirm-password/")
    clock.shift(STEP)
    assert signed_in.post(removal["Location"], {"code": app.now()})["Location"] == "/accounts/mfa/"
    assert signed_in.post("/accounts/mfa/totp/remove/")["Location"] == "/accounts/mfa/"
    assert not Authenticator.objects.exists() and not RecoveryCode.objects.exists()


def test_the_confirm_page_takes_either_for_other_changes(signed_in, user, clock):
    app, _ = set_up_app(signed_in)
    age(signed_in)
    page = signed_in.get("/accounts/confirm-password/?next=/accounts/change-email/").content.decode()
    assert 'name="password"' in page and 'name="code"' in page
    clock.shift(STEP)
    assert signed_in.post("/accounts/confirm-password/?next=/accounts/change-email/",
                          {"code": app.now()})["Location"] == "/accounts/change-email/"


# --- the admin ---------------------------------------------------------------------------------------------------
@pytest.fixture
def operator(make_user, clock):
    return make_user("operator@example.com", is_staff=True, is_superuser=True)


def test_the_admin_login_finishes_on_the_second_step(operator, clock):
    browser = Client()
    assert sign_in(browser, "operator@example.com").status_code == 302
    app, _ = set_up_app(browser)
    browser.post("/accounts/logout/")
    clock.shift(STEP)
    admin = Client()
    response = admin.post("/admin/login/?next=/admin/", {"username": "operator@example.com", "password": PASSWORD,
                                                         "next": "/admin/"})
    assert response["Location"] == "/accounts/login/verify/?next=%2Fadmin%2F"
    assert admin.get("/admin/").status_code == 302  # not in yet
    assert admin.post(response["Location"], {"code": app.now()})["Location"] == "/admin/"
    assert admin.get("/admin/").status_code == 200


def test_staff_can_be_required_to_have_a_factor(operator, settings, clock):
    settings.MFA = {**settings.MFA, "REQUIRE_FOR_STAFF": True}
    browser = Client()
    sign_in(browser, "operator@example.com")
    assert browser.get("/admin/")["Location"] == "/accounts/mfa/"
    set_up_app(browser)
    assert browser.get("/admin/").status_code == 200


@pytest.mark.django_db(transaction=True)  # the email goes out when the transaction commits
def test_an_operator_resets_a_users_factors(operator, user, clock):
    owner = Client()
    sign_in(owner)
    set_up_app(owner)
    admin = Client()
    admin.force_login(get_user_model().objects.get(email="operator@example.com"))
    authenticator = Authenticator.objects.get(user=user)
    listing = admin.get("/admin/mfa/authenticator/").content.decode()
    assert "alice@example.com" in listing and "Authenticator app" in listing
    mail.outbox.clear()
    response = admin.post("/admin/mfa/authenticator/", {"action": "reset_second_factors",
                                                         "_selected_action": [str(authenticator.pk)]})
    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=user).exists() and not RecoveryCode.objects.filter(user=user).exists()
    event = SecurityEvent.objects.get(kind="mfa_reset", user=user)
    assert event.actor.email == "operator@example.com"
    assert [message.to for message in mail.outbox] == [["alice@example.com"]]
