"""Sign-in alerts (accounts/flows/sign_in_alerts.py): a login from a device the user has not used before is told to
them by email, with a one-click "this wasn't me" link that ends that session at once. Each "no alert" case
is checked next to a case that does alert, so that none of them passes without the feature."""
import dataclasses
from datetime import timedelta
import json
import re

from django.core import mail, signing
from django.test import Client
from django_tasks_db.models import DBTaskResult
from playwright.sync_api import expect
import pytest
from rest_framework.test import APIClient

from accounts import events as account_events
from accounts import rules
from accounts.conf import app_settings
from accounts.flows import not_me, passwords
from accounts.testing import login
from authcore.models import SecurityEvent
from authcore.testing import PASSWORD, assert_error
from sessions_app.models import Session
from sessions_app.tests.helpers import CHROME_UA, me, refresh

pytestmark = pytest.mark.django_db(transaction=True)

SAFARI_UA = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 "
             "Safari/605.1.15")
FIREFOX_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0"
HOME = {"REMOTE_ADDR": "203.0.113.7", "HTTP_USER_AGENT": CHROME_UA}  # "Chrome on Linux"
ELSEWHERE = {"REMOTE_ADDR": "198.51.100.23", "HTTP_USER_AGENT": SAFARI_UA}  # "Safari on Mac OS X"
FAR_AWAY = {"REMOTE_ADDR": "192.0.2.44", "HTTP_USER_AGENT": FIREFOX_UA}  # "Firefox on Windows"
ALERT_SUBJECT = "New sign-in to your Auth Service account"
NOT_ME_LINK = re.compile(r"http://testserver/accounts/not-me/([^/\s\"<>]+)/")
NOT_ME_API = "/api/auth/not-me/"


def log_in_from(where: dict, client: APIClient | None = None, password: str = PASSWORD) -> dict:
    """A login over the API from `where`: a fresh client, so without a device cookie, unless one is given."""
    return login(client or APIClient(), password=password, **where)


def alerts() -> list:
    return [message for message in mail.outbox if message.subject == ALERT_SUBJECT]


def html_of(message) -> str:
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return html


def report(token: str, **extra):
    return APIClient().post(NOT_ME_API, {"token": token}, format="json", **extra)


@pytest.fixture
def stranger(home):
    """Then somebody logs in from another device and network: the login's answer and its alert's token."""
    body = log_in_from(ELSEWHERE)
    [alert] = alerts()
    body["link_token"] = NOT_ME_LINK.search(alert.body).group(1)
    return body


# --- when an alert goes out ------------------------------------------------------------------------------
def test_the_first_login_sends_no_alert(user):
    assert user.last_login is None  # as right after registration
    log_in_from(HOME)
    assert alerts() == []
    log_in_from(ELSEWHERE)  # the second login, from elsewhere, does
    assert len(alerts()) == 1


def test_a_new_device_and_network_gets_one_alert_with_device_ip_time_and_link(clock, home):
    body = log_in_from(ELSEWHERE)

    [alert] = alerts()
    assert alert.to == ["alice@example.com"]
    html = html_of(alert)
    for part in (alert.body, html):
        assert "Safari on Mac OS X" in part
        assert "198.51.100.23" in part
        assert "the network address the sign-in came from" in part  # honest: no geolocation
        assert "1 January 2030, 12:00 UTC" in part
    # One link, the same in both parts, and no other credential: not the login's tokens, not the cookie's.
    [token] = set(NOT_ME_LINK.findall(alert.body))
    assert set(NOT_ME_LINK.findall(html)) == {token}
    for secret in (body["access"], body["refresh"], home.first_login["access"], home.first_login["refresh"]):
        assert secret not in alert.body and secret not in html
    # The link works: it names the new session.
    assert report(token).status_code == 200
    assert Session.objects.get(pk=body["session_id"]).revoke_reason == account_events.NOT_ME_REASON


def test_the_same_device_label_and_network_is_known(home):
    newer_chrome = CHROME_UA.replace("Chrome/124.0.0.0", "Chrome/125.0.0.0")  # still "Chrome on Linux"
    log_in_from({"REMOTE_ADDR": "203.0.113.200", "HTTP_USER_AGENT": newer_chrome})  # same /24
    assert alerts() == []
    log_in_from({"REMOTE_ADDR": "198.51.100.23", "HTTP_USER_AGENT": newer_chrome})  # the network differs
    assert len(alerts()) == 1
    log_in_from({"REMOTE_ADDR": "203.0.113.9", "HTTP_USER_AGENT": SAFARI_UA})  # the device differs
    assert len(alerts()) == 2


def test_ipv6_addresses_in_the_same_48_are_the_same_network(user):
    log_in_from({"REMOTE_ADDR": "2001:db8:1:2::5", "HTTP_USER_AGENT": CHROME_UA})
    log_in_from({"REMOTE_ADDR": "2001:db8:1:ff::9", "HTTP_USER_AGENT": CHROME_UA})
    assert alerts() == []
    log_in_from({"REMOTE_ADDR": "2001:db8:2::1", "HTTP_USER_AGENT": CHROME_UA})
    assert len(alerts()) == 1


def test_a_valid_device_cookie_from_a_new_network_is_known(home):
    log_in_from(ELSEWHERE, home)  # the device that logged in at home, now travelling
    assert alerts() == []
    tampered = APIClient()
    tampered.cookies[app_settings.DEVICE_COOKIE_NAME] = home.cookies[app_settings.DEVICE_COOKIE_NAME].value[:-2] + "xx"
    log_in_from(FAR_AWAY, tampered)
    assert len(alerts()) == 1


def test_a_device_cookie_from_before_a_password_change_no_longer_counts(home, user):
    """As for the login throttle: a new password (say, after a theft) ends the trust of the device cookies
    issued before it."""
    user.refresh_from_db()
    user.set_password("violet harbour lantern mosaic")
    user.save()
    log_in_from(ELSEWHERE, home, password="violet harbour lantern mosaic")
    assert len(alerts()) == 1


def test_a_reported_session_does_not_vouch_for_its_device(stranger):
    assert report(stranger["link_token"]).status_code == 200
    log_in_from(ELSEWHERE)  # the same device and network again
    assert len(alerts()) == 2


def test_reporting_a_sign_in_also_ends_the_sessions_it_vouched_for(stranger, home):
    """The intruder logged in again from the same place: silently, the first session vouching for it. The
    report ends both, and the owner's own session stays."""
    again = log_in_from(ELSEWHERE)
    assert len(alerts()) == 1

    assert report(stranger["link_token"]).status_code == 200

    for tokens in (stranger, again):
        assert me(APIClient(), tokens["access"]).status_code == 401
    assert me(APIClient(), home.first_login["access"]).status_code == 200


def test_sessions_a_password_reset_ended_vouch_for_no_device(home, user):
    """After the owner resets the password (what an alert tells them to do), a login from the place of a
    session the reset ended is announced again: it may be the intruder with a re-phished password."""
    log_in_from(ELSEWHERE)
    mail.outbox.clear()
    user.refresh_from_db()
    passwords.set_new_password(user=user, new_password="violet harbour lantern mosaic",
                              change=rules.PasswordChange(how="reset"))

    log_in_from(ELSEWHERE, password="violet harbour lantern mosaic")

    assert len(alerts()) == 1


def test_alerts_can_be_switched_off(home, settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "SIGN_IN_ALERTS": False}
    log_in_from(ELSEWHERE)
    assert alerts() == []
    settings.ACCOUNTS = {**settings.ACCOUNTS, "SIGN_IN_ALERTS": True}
    log_in_from(FAR_AWAY)
    assert len(alerts()) == 1


def test_the_alert_is_queued_with_the_login_and_no_token_waits_in_the_queue(home, settings, user):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    body = log_in_from(ELSEWHERE)
    [task] = DBTaskResult.objects.all()
    user_id, template, details = task.args_kwargs["args"]
    assert (user_id, template) == (str(user.pk), "new_sign_in")
    assert details["session_id"] == body["session_id"]
    assert (details["device"], details["ip_address"]) == ("Safari on Mac OS X", "198.51.100.23")
    queued = json.dumps(task.args_kwargs)
    assert "not-me" not in queued and "http" not in queued and body["refresh"] not in queued


# --- the link, through the API ---------------------------------------------------------------------------
def test_the_link_ends_exactly_that_session_at_once(stranger, home, bystander):
    assert me(APIClient(), stranger["access"]).status_code == 200

    response = report(stranger["link_token"])

    assert response.status_code == 200 and response.json()["detail"]
    assert_error(me(APIClient(), stranger["access"]), 401, "token_not_valid")  # its access token, at once
    assert refresh(APIClient(), stranger["refresh"]).status_code == 401
    assert me(APIClient(), home.first_login["access"]).status_code == 200  # alice's other session lives
    assert me(APIClient(), bystander.access).status_code == 200  # and so does everybody else's
    ended = Session.objects.get(pk=stranger["session_id"])
    assert ended.revoke_reason == account_events.NOT_ME_REASON
    event = SecurityEvent.objects.get(kind=account_events.SIGN_IN_REPORTED)
    assert str(event.session_id) == stranger["session_id"] and event.user.email == "alice@example.com"


def test_a_second_use_is_refused(stranger):
    assert report(stranger["link_token"]).status_code == 200
    assert_error(report(stranger["link_token"]), 400, "invalid_token")
    assert SecurityEvent.objects.filter(kind=account_events.SIGN_IN_REPORTED).count() == 1


def test_an_expired_link_is_refused(clock, stranger):
    clock.shift(app_settings.NOT_ME_LINK_LIFETIME + timedelta(seconds=1))
    assert_error(report(stranger["link_token"]), 400, "invalid_token")
    assert Session.objects.get(pk=stranger["session_id"]).revoked_at is None


def test_a_link_ended_some_other_way_is_refused(stranger):
    APIClient().post("/api/auth/logout/", {"refresh": stranger["refresh"]}, format="json")
    assert Session.objects.get(pk=stranger["session_id"]).revoked_at is not None
    assert_error(report(stranger["link_token"]), 400, "invalid_token")
    assert not SecurityEvent.objects.filter(kind=account_events.SIGN_IN_REPORTED).exists()


def test_a_tampered_or_foreign_token_is_refused(stranger, home):
    token = stranger["link_token"]
    payload, timestamp, signature = token.split(":")
    home_session = home.first_login["session_id"]
    forged = [
        f"{payload}:{timestamp}:{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",  # signature changed
        signing.dumps(home_session, salt=not_me.NOT_ME_SALT).split(":")[0] + f":{timestamp}:{signature}",
        signing.dumps(stranger["session_id"]),  # signed, but not for this purpose (another salt)
        signing.dumps(stranger["session_id"], salt="accounts.login_throttle.device"),
        not_me.not_me_token("9b1e5c1e-7c1b-4c3a-8e6f-2a7c3d1e0f00"),  # a session that does not exist
    ]
    for candidate in forged:
        assert_error(report(candidate), 400, "invalid_token")
    assert Session.objects.alive().filter(user__email="alice@example.com").count() == 2


@pytest.mark.parametrize("body", [
    {}, {"token": ""}, {"token": "not a token"}, {"token": 12345}, {"token": None}, {"token": ["a:b:c"]},
    {"token": "a:b:c" + "d" * 300}, {"token": "abc:def:gh\x00i"}, {"token": "abc:def:gh\ud800"},
    {"token": "abc:d-f:ghi"}, {"token": "abc:def:ghi:jkl"},
], ids=["missing", "empty", "spaces", "number", "null", "list", "too-long", "nul", "surrogate",
        "bad-timestamp", "four-parts"])
def test_malformed_input_is_a_400_invalid(body, db):
    # Sent as raw JSON text (ensure_ascii), which can carry a lone surrogate.
    response = APIClient().post(NOT_ME_API, json.dumps(body), content_type="application/json")
    assert_error(response, 400, "invalid")
    assert response.json()["errors"][0]["field"] == "token"


def test_a_body_that_is_not_an_object_is_a_400_invalid(db):
    assert_error(APIClient().post(NOT_ME_API, ["a:b:c"], format="json"), 400, "invalid")


@pytest.mark.parametrize("limit", ["ip", "account"])
def test_the_link_is_rate_limited(stranger, settings, limit):
    settings.AUTHCORE = {**settings.AUTHCORE, "RATE_LIMITS": {"not_me": {limit: "2/h"}}}
    # Per account: the same link from three networks; per IP: three (forged) links from one address.
    tokens = ([stranger["link_token"]] * 3 if limit == "account"
              else [not_me.not_me_token(f"9b1e5c1e-7c1b-4c3a-8e6f-2a7c3d1e0f0{n}") for n in range(3)])
    addresses = ["203.0.113.1", "198.51.100.1", "192.0.2.1"] if limit == "account" else ["203.0.113.1"] * 3
    answers = [report(token, REMOTE_ADDR=address) for token, address in zip(tokens, addresses, strict=True)]
    assert 429 not in [answer.status_code for answer in answers[:2]]
    assert_error(answers[2], 429, "rate_limited")
    assert int(answers[2]["Retry-After"]) > 0


# --- the link, as a browser page -------------------------------------------------------------------------
def open_link(browser: Client, token: str):
    """GET the emailed link: it stashes the token in the session and redirects to the token-less page."""
    response = browser.get(f"/accounts/not-me/{token}/")
    assert (response.status_code, response["Location"]) == (302, "/accounts/not-me/confirm/")
    assert response["Referrer-Policy"] == "no-referrer"
    return response


def test_get_of_the_page_changes_nothing(stranger):
    browser = Client()
    open_link(browser, stranger["link_token"])
    page = browser.get("/accounts/not-me/confirm/")
    browser.head("/accounts/not-me/confirm/")

    assert page.status_code == 200
    content = page.content.decode()
    assert '<button type="submit">Sign that device out</button>' in content
    assert "Safari on Mac OS X" in content and "198.51.100.23" in content
    assert stranger["link_token"] not in content
    assert "no-store" in page["Cache-Control"]
    assert Session.objects.get(pk=stranger["session_id"]).revoked_at is None
    assert me(APIClient(), stranger["access"]).status_code == 200
    assert not SecurityEvent.objects.filter(kind=account_events.SIGN_IN_REPORTED).exists()


def test_page_post_ends_that_session_and_goes_on_to_the_reset_page(stranger, home):
    browser = Client()
    open_link(browser, stranger["link_token"])

    done = browser.post("/accounts/not-me/confirm/")

    assert (done.status_code, done["Location"]) == (302, "/accounts/password-reset/")
    assert_error(me(APIClient(), stranger["access"]), 401, "token_not_valid")
    assert me(APIClient(), home.first_login["access"]).status_code == 200
    assert SecurityEvent.objects.filter(kind=account_events.SIGN_IN_REPORTED).count() == 1
    # Used: the same link again shows the invalid page, with the way to reset the password.
    open_link(browser, stranger["link_token"])
    again = browser.get("/accounts/not-me/confirm/")
    assert again.status_code == 400 and "This link does not work" in again.content.decode()
    assert 'href="/accounts/password-reset/"' in again.content.decode()


def test_page_post_needs_the_csrf_token(stranger):
    strict = Client(enforce_csrf_checks=True)
    open_link(strict, stranger["link_token"])
    assert strict.post("/accounts/not-me/confirm/").status_code == 403
    assert Session.objects.get(pk=stranger["session_id"]).revoked_at is None


def test_page_with_a_malformed_or_missing_token_is_the_invalid_page(stranger):
    browser = Client()
    assert browser.get("/accounts/not-me/not-a-token/").status_code == 400
    assert browser.get("/accounts/not-me/confirm/").status_code == 400  # nothing in the session
    assert browser.post("/accounts/not-me/confirm/").status_code == 400
    assert Session.objects.get(pk=stranger["session_id"]).revoked_at is None


def test_page_post_is_rate_limited_with_a_page(stranger, settings):
    settings.AUTHCORE = {**settings.AUTHCORE, "RATE_LIMITS": {"not_me": {"ip": "1/h"}}}
    assert_error(report(not_me.not_me_token("9b1e5c1e-7c1b-4c3a-8e6f-2a7c3d1e0f00")), 400, "invalid_token")
    browser = Client()
    open_link(browser, stranger["link_token"])
    response = browser.post("/accounts/not-me/confirm/")
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert Session.objects.get(pk=stranger["session_id"]).revoked_at is None


# --- in a real browser -----------------------------------------------------------------------------------
@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_not_me_page_in_chromium(page, live_server, settings, user):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "SITE_URL": live_server.url}
    log_in_from(HOME)
    stranger = log_in_from(ELSEWHERE)
    [alert] = alerts()
    [link] = {link for link in re.findall(r"https?://[^\s<>\"]+", alert.body) if "/not-me/" in link}
    assert link.startswith(f"{live_server.url}/accounts/not-me/")

    page.goto(link)
    expect(page).to_have_url(f"{live_server.url}/accounts/not-me/confirm/")  # the token left the address bar
    expect(page.get_by_role("heading", name="Was this sign-in not you?")).to_be_visible()
    assert me(APIClient(), stranger["access"]).status_code == 200  # showing the page ended nothing
    page.get_by_role("button", name="Sign that device out").click()

    expect(page).to_have_url(f"{live_server.url}/accounts/password-reset/")
    expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
    assert me(APIClient(), stranger["access"]).status_code == 401


def test_the_recent_sessions_fixed_statement_asks_what_the_orm_asks(clock, user, make_user):
    """_seen_recently reads the user's latest sessions with a fixed statement, prepared once per connection: the same
    rows, in the same order, as the queryset it stands for: not the new session, not the ones that ended in a way
    that vouches for nothing (UNTRUSTED_ENDINGS), not another user's, at most RECENT_SESSIONS of them."""
    from django.db import connection

    from accounts.flows.sign_in_alerts import RECENT_SESSIONS, UNTRUSTED_ENDINGS, _recent_sessions_sql
    from authcore.backends import fetch_all_prepared
    from sessions_app.tests.helpers import CLIENT, open_session

    other = make_user("bob@example.com", password=None)
    agents = [CHROME_UA, SAFARI_UA, FIREFOX_UA]
    for number in range(RECENT_SESSIONS + 5):
        client = dataclasses.replace(CLIENT, ip_address=f"198.51.{number}.7", user_agent=agents[number % 3])
        open_session(user, client=client)
        open_session(other, client=client)
        clock.shift(timedelta(seconds=1))
    sessions = list(Session.objects.filter(user=user).order_by("-created_at"))
    for session, reason in zip(sessions[1:], [*UNTRUSTED_ENDINGS, Session.RevokeReason.LOGOUT], strict=False):
        Session.objects.filter(pk=session.pk).update(revoked_at=session.created_at, revoke_reason=reason)
    newest = sessions[0]
    rows = fetch_all_prepared(connection, _recent_sessions_sql(connection.vendor), {
        "user": Session._meta.get_field("user").get_db_prep_value(user.pk, connection),
        "session": Session._meta.pk.get_db_prep_value(newest.pk, connection),
        **{f"untrusted{number}": str(reason) for number, reason in enumerate(UNTRUSTED_ENDINGS)}})
    expected = list(Session.objects.filter(user=user).exclude(pk=newest.pk)
                    .exclude(revoke_reason__in=UNTRUSTED_ENDINGS).order_by("-created_at")
                    .values_list("device", "ip_address")[:RECENT_SESSIONS])
    assert [tuple(row) for row in rows] == expected and len(expected) == RECENT_SESSIONS
    assert {device for device, _ in expected} == {"Chrome on Linux", "Safari on Mac OS X", "Firefox on Windows"}
