"""A "this wasn't me" report distrusts the device itself (accounts.flows.not_me, models.DistrustedDevice):
every session started with the device cookie the reported login was given ends, and that cookie never again
spares an alert or the login lock. The reproduction: an intruder with the right password logs in (new device,
alert, cookie), logs in again from another network with that cookie (no alert), and the owner then reports
the first sign-in."""
from datetime import timedelta

from django.core import mail
from django.test import Client
import pytest
from rest_framework.test import APIClient

from accounts.conf import app_settings
from accounts.models import DistrustedDevice
from authcore.models import SecurityEvent
from authcore.testing import PASSWORD, assert_error
from sessions_app.models import Session
from sessions_app.tests.helpers import me, refresh

from .test_sign_in_alerts import ELSEWHERE, FAR_AWAY, NOT_ME_LINK, alerts, log_in_from, report

pytestmark = pytest.mark.django_db(transaction=True)

DEVICE_COOKIE = app_settings.DEVICE_COOKIE_NAME
ELSEWHERE_AGAIN = {**ELSEWHERE, "REMOTE_ADDR": "192.0.2.200"}  # the intruder's device, on another network


@pytest.fixture
def intruder(home):
    """The intruder's device: a first login (alerted, with the link) and a second one from another network
    carrying the cookie the first was given (not alerted)."""
    client = APIClient()
    client.first = log_in_from(ELSEWHERE, client)
    [alert] = alerts()
    client.link_token = NOT_ME_LINK.search(alert.body).group(1)
    client.device_cookie = client.cookies[DEVICE_COOKIE].value
    client.second = log_in_from(ELSEWHERE_AGAIN, client)
    assert len(alerts()) == 1  # the cookie vouched for the second login
    mail.outbox.clear()
    return client


def test_a_report_ends_every_session_the_reported_device_cookie_opened(intruder, home):
    assert report(intruder.link_token).status_code == 200
    for login in (intruder.first, intruder.second):
        assert_error(me(APIClient(), login["access"]), 401, "token_not_valid")
        assert refresh(APIClient(), login["refresh"]).status_code == 401
    assert me(APIClient(), home.first_login["access"]).status_code == 200  # the owner's session lives
    second = Session.objects.get(pk=intruder.second["session_id"])
    assert second.revoke_reason == "not_me"
    event = SecurityEvent.objects.get(kind="authn_login_reported_not_me")
    assert event.details["also_ended"] == 1 and event.details["devices_distrusted"] == 1


def test_the_reported_device_cookie_no_longer_spares_an_alert(intruder):
    report(intruder.link_token)
    third = log_in_from(FAR_AWAY, intruder)  # still carrying the reported cookie
    assert len(alerts()) == 1
    # The login was treated as a new device: it got a new device id, and its own report link works.
    session = Session.objects.get(pk=third["session_id"])
    assert session.device_id != Session.objects.get(pk=intruder.first["session_id"]).device_id
    assert intruder.cookies[DEVICE_COOKIE].value != intruder.device_cookie
    assert report(NOT_ME_LINK.search(alerts()[0].body).group(1)).status_code == 200


def test_the_reported_device_cookie_no_longer_spares_the_login_lock(intruder, home, settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "LOGIN_FAILURES_PER_CLIENT": 3, "LOGIN_LOCKOUT_THRESHOLD": 5,
                         "LOGIN_LOCKOUT_BASE": timedelta(minutes=1)}
    report(intruder.link_token)
    for n in range(5):  # failures from many networks lock the account for new devices
        response = APIClient().post("/api/auth/login/", {"email": "alice@example.com", "password": "wrong guess"},
                                    REMOTE_ADDR=f"10.{n}.0.1")
        assert response.status_code == 401
    reported = APIClient()
    reported.cookies[DEVICE_COOKIE] = intruder.device_cookie
    assert_error(reported.post("/api/auth/login/", {"email": "alice@example.com", "password": PASSWORD},
                               REMOTE_ADDR="198.51.100.99"), 429, "rate_limited")
    # The owner's own device is still not locked out.
    assert log_in_from({"REMOTE_ADDR": "198.51.100.99"}, home)["access"]


def test_a_report_from_the_page_distrusts_the_device_too(intruder):
    browser = Client()
    assert browser.get(f"/accounts/not-me/{intruder.link_token}/").status_code == 302
    page = browser.get("/accounts/not-me/confirm/")
    response = browser.post("/accounts/not-me/confirm/", {"csrfmiddlewaretoken": page.context["csrf_token"]})
    assert response.status_code == 302
    assert_error(me(APIClient(), intruder.second["access"]), 401, "token_not_valid")
    assert DistrustedDevice.objects.filter(
        device_id=Session.objects.get(pk=intruder.first["session_id"]).device_id).exists()


def test_a_password_change_does_not_renew_a_reported_device_cookie(intruder, user):
    """A cookie renewed after a password change keeps its device id only while that device is trusted."""
    from accounts import login_throttle

    report(intruder.link_token)
    reported_id = Session.objects.get(pk=intruder.first["session_id"]).device_id
    user.refresh_from_db()
    renewed = login_throttle.device_token_after_password_change(user, intruder.device_cookie)
    assert login_throttle._device_for(login_throttle.account_key(user.email), renewed)[0] != reported_id


def test_a_second_browser_vouched_for_by_place_is_distrusted_too(home):
    """The intruder's second browser, on the same network with the same browser, sent no alert (the first
    vouched for it by place) and got a cookie of its own: the report ends it and distrusts that cookie too."""
    first_browser, second_browser = APIClient(), APIClient()
    log_in_from(ELSEWHERE, first_browser)
    token = NOT_ME_LINK.search(alerts()[0].body).group(1)
    second = log_in_from(ELSEWHERE, second_browser)
    assert len(alerts()) == 1

    assert report(token).status_code == 200
    assert_error(me(APIClient(), second["access"]), 401, "token_not_valid")
    mail.outbox.clear()
    log_in_from(FAR_AWAY, second_browser)  # its cookie no longer vouches for it
    assert len(alerts()) == 1
    assert me(APIClient(), home.first_login["access"]).status_code == 200  # the owner's session lives
