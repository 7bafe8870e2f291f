"""The account pages of a signed-in browser, through Django's test client: signing in runs the login flow (the
same throttle, lockout, device cookie and answers as the API) and opens a session like any other, which every
way of ending a session signs out; the sensitive pages ask for the password again after the recent-sign-in
window; every action is the API's flow."""
from datetime import timedelta
import json
import re

from django.conf import settings as django_settings
from django.core import mail
from django.test import Client
import pytest

from accounts import events as account_events
from accounts.conf import app_settings as account_settings
from accounts.models import User
from accounts.testing import login
from authcore.models import SecurityEvent
from authcore.testing import PASSWORD, assert_error, bearer
from sessions_app.browser import SESSION_ID_KEY
from sessions_app.models import Session
from sessions_app.tests.helpers import open_session

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "violet harbour lantern mosaic"
WRONG = "not the right password at all"


def sign_in(client: Client, email: str = "alice@example.com", password: str = PASSWORD, next: str | None = None,
            **request):
    data = {"email": email, "password": password, **({"next": next} if next is not None else {})}
    return client.post("/accounts/login/", data, **request)


@pytest.fixture
def browser_client(user) -> Client:
    client = Client()
    assert sign_in(client).status_code == 302
    return client


def browser_session(client: Client) -> Session:
    return Session.objects.get(pk=client.session[SESSION_ID_KEY])


def age_sign_in(client: Client, minutes: int = 10) -> None:
    """The sign-in happened `minutes` ago: outside the recent-authentication window (5 minutes)."""
    session = browser_session(client)
    Session.objects.filter(pk=session.pk).update(created_at=session.created_at - timedelta(minutes=minutes))


def signed_out(client: Client) -> bool:
    response = client.get("/accounts/")
    return response.status_code == 302 and response["Location"].startswith("/accounts/login/")


# --- signing in ------------------------------------------------------------------------------------------------
def test_signing_in_opens_a_browser_session_listed_by_the_api(user, api):
    client = Client()
    planted = client.session  # a session key the browser had before signing in (fixation)
    planted["x"] = 1
    planted.save()
    before = planted.session_key

    response = sign_in(client, HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")

    assert response.status_code == 302 and response["Location"] == "/accounts/"
    session = browser_session(client)
    assert session.transport == Session.Transport.BROWSER and session.user == user and session.is_alive()
    cookie = response.cookies[django_settings.SESSION_COOKIE_NAME]
    assert cookie.value != before and cookie["httponly"] and cookie["samesite"] == "Lax"
    # The API's sessions list shows it, as any session.
    tokens = login(api)
    listed = api.get("/api/auth/sessions/", **bearer(tokens["access"])).json()
    assert str(session.id) in {item["id"] for item in listed}
    assert SecurityEvent.objects.filter(kind=account_events.LOGIN_SUCCESS, session_id=session.id).exists()


def test_wrong_password_and_unknown_address_get_the_same_answer(user):
    wrong = sign_in(Client(), password=WRONG)
    unknown = sign_in(Client(), email="nobody@example.com", password=WRONG)
    assert wrong.status_code == unknown.status_code == 200
    for response in (wrong, unknown):
        assert "Invalid email or password." in response.content.decode()
    assert not Session.objects.exists()


@pytest.mark.django_db(transaction=True)  # the email goes out when the transaction commits
def test_an_unverified_address_gets_no_session_and_a_new_link(make_user):
    make_user("new@example.com", verified=False)
    response = sign_in(Client(), email="new@example.com")
    assert "Please verify your email address" in response.content.decode()
    assert not Session.objects.exists()
    assert [message.to for message in mail.outbox] == [["new@example.com"]]


def test_the_page_and_the_api_share_one_login_throttle(api, user, settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "LOGIN_FAILURES_PER_CLIENT": 4}
    for _ in range(2):
        assert sign_in(Client(), password=WRONG, REMOTE_ADDR="198.51.100.7").status_code == 200
    for _ in range(2):
        response = api.post("/api/auth/login/", {"email": "alice@example.com", "password": WRONG},
                            REMOTE_ADDR="198.51.100.8")
        assert response.status_code == 401

    # Four failures from that network, two on each door: both doors now refuse, the right password too.
    page = sign_in(Client(), REMOTE_ADDR="198.51.100.9")
    assert page.status_code == 429 and int(page["Retry-After"]) >= 1
    assert "Too many attempts" in page.content.decode()
    assert_error(api.post("/api/auth/login/", {"email": "alice@example.com", "password": PASSWORD},
                          REMOTE_ADDR="198.51.100.10"), 429, "rate_limited")
    assert SecurityEvent.objects.filter(kind=account_events.LOGIN_FAIL).count() == 4


def test_signing_in_sets_the_device_cookie_that_spares_the_lock(user, settings):
    client = Client()
    response = sign_in(client)
    assert response.cookies[account_settings.DEVICE_COOKIE_NAME]["httponly"]


@pytest.mark.parametrize("next_url, goes_to", [
    ("/accounts/sessions/", "/accounts/sessions/"),
    ("/accounts/sessions/?a=1", "/accounts/sessions/?a=1"),
    ("https://evil.example/", "/accounts/"),
    ("//evil.example/", "/accounts/"),
    ("/\\evil.example/", "/accounts/"),
    ("javascript:alert(1)", "/accounts/"),
    ("/" + "a" * 2100, "/accounts/"),
])
def test_only_a_path_of_this_site_is_followed_after_signing_in(user, next_url, goes_to):
    response = sign_in(Client(), next=next_url)
    assert response.status_code == 302 and response["Location"] == goes_to


def test_a_signed_in_browser_skips_the_sign_in_page(browser_client):
    response = browser_client.get("/accounts/login/?next=/accounts/sessions/")
    assert response.status_code == 302 and response["Location"] == "/accounts/sessions/"


def test_a_page_for_the_signed_in_sends_anyone_else_to_sign_in_and_back(user):
    client = Client()
    response = client.get("/accounts/sessions/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=%2Faccounts%2Fsessions%2F"
    assert sign_in(client, next="/accounts/sessions/")["Location"] == "/accounts/sessions/"


def test_the_api_cannot_open_a_browser_session(api, user):
    response = api.post("/api/auth/login/", {"email": "alice@example.com", "password": PASSWORD,
                                             "transport": "browser"}, format="json")
    assert_error(response, 400, "invalid")
    assert not Session.objects.exists()


def test_forms_need_the_csrf_token(user):
    client = Client(enforce_csrf_checks=True)
    assert sign_in(client).status_code == 403
    assert not Session.objects.exists()


# --- one session like any other: ended anywhere, signed out at the next request ------------------------------
def test_ended_through_the_api_the_browser_is_signed_out(browser_client, api):
    tokens = login(api)
    session = browser_session(browser_client)
    response = api.delete(f"/api/auth/sessions/{session.id}/", **bearer(tokens["access"]))
    assert response.status_code == 204
    assert signed_out(browser_client)
    assert SESSION_ID_KEY not in browser_client.session


def test_logout_everywhere_through_the_api_signs_the_browser_out(browser_client, api):
    tokens = login(api)
    assert api.post("/api/auth/logout-all/", **bearer(tokens["access"])).status_code == 200
    assert signed_out(browser_client)


def test_a_password_reset_signs_the_browser_out(browser_client, user):
    user.refresh_from_db()  # the link is made from the account as it is now (signing in set last_login)
    from accounts.flows import passwords
    from accounts.tokens import make_link_token, password_reset_tokens
    from authcore.requestmeta import ClientInfo

    passwords.confirm_password_reset(token=make_link_token(password_reset_tokens, user), new_password=NEW_PASSWORD,
                                     client=ClientInfo(ip_address="192.0.2.1", user_agent=""))
    assert signed_out(browser_client)


def test_deactivation_signs_the_browser_out(browser_client, user):
    user.is_active = False
    user.save()
    assert signed_out(browser_client)


def test_deactivation_by_raw_sql_ends_the_session_at_the_next_request(browser_client, user):
    User.objects.filter(pk=user.pk).update(is_active=False)  # no rule ran: the session is still alive
    session = browser_session(browser_client)
    assert signed_out(browser_client)
    session.refresh_from_db()
    assert session.revoke_reason == Session.RevokeReason.USER_DEACTIVATED


def test_the_idle_timeout_signs_the_browser_out(clock, browser_client):
    clock.shift(timedelta(days=6))
    assert browser_client.get("/accounts/").status_code == 200  # used: the idle deadline moves on
    clock.shift(timedelta(days=6))
    assert browser_client.get("/accounts/").status_code == 200
    clock.shift(timedelta(days=7, seconds=1))
    assert signed_out(browser_client)


def test_the_absolute_lifetime_signs_the_browser_out_however_busy(clock, browser_client):
    for _ in range(4):
        clock.shift(timedelta(days=6))
        assert browser_client.get("/accounts/").status_code == 200
    clock.shift(timedelta(days=6))  # 30 days after signing in, 6 after the last use
    assert signed_out(browser_client)


def test_use_is_recorded_at_most_once_a_minute(clock, browser_client):
    session = browser_session(browser_client)
    clock.shift(timedelta(seconds=30))
    browser_client.get("/accounts/")
    session.refresh_from_db()
    assert session.last_used_at == session.created_at
    clock.shift(timedelta(seconds=31))
    browser_client.get("/accounts/")
    session.refresh_from_db()
    assert session.last_used_at == session.created_at + timedelta(seconds=61)
    assert session.idle_expires_at == session.last_used_at + timedelta(days=7)


def test_a_signed_in_page_costs_one_query_for_the_sign_in(browser_client, django_assert_num_queries):
    # Django's session row, then the one query that checks the session row and loads the user together
    # (Django's own user lookup is never run); the account home needs nothing else.
    with django_assert_num_queries(2):
        assert browser_client.get("/accounts/").status_code == 200


# --- sign out, sessions --------------------------------------------------------------------------------------
def test_sign_out_ends_the_session_and_takes_only_a_post(browser_client):
    session = browser_session(browser_client)
    assert browser_client.get("/accounts/logout/").status_code == 405
    response = browser_client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    session.refresh_from_db()
    assert session.revoke_reason == Session.RevokeReason.LOGOUT
    assert signed_out(browser_client)


def test_the_sessions_page_lists_every_live_session_and_marks_this_one(browser_client, api):
    api.post("/api/auth/login/", {"email": "alice@example.com", "password": PASSWORD, "device_name": "Alice's phone"})
    html = browser_client.get("/accounts/sessions/").content.decode()
    assert "Alice&#x27;s phone" in html and html.count("This browser") == 1
    assert "127.0.0.1" in html


def session_page_links(html: str) -> dict[str, str]:
    """The page's links to the pages around it: {"next": "?cursor=...", "prev": ...}."""
    return {rel: href.replace("&amp;", "&")
            for href, rel in re.findall(r'<a href="(\?cursor=[^"]+)" rel="(next|prev)">', html)}


def test_the_sessions_page_shows_a_page_at_a_time_with_links_both_ways(browser_client, user, settings):
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "SESSIONS_PAGE_SIZE": 2}
    this_browser = browser_session(browser_client)
    others = [open_session(user).session for _ in range(4)]  # newer than the browser's sign-in

    first = browser_client.get("/accounts/sessions/").content.decode()
    assert [str(session.id) in first for session in others] == [False, False, True, True]
    assert set(session_page_links(first)) == {"next"} and "Older sessions" in first and "Newer sessions" not in first

    second = browser_client.get("/accounts/sessions/" + session_page_links(first)["next"]).content.decode()
    assert [str(session.id) in second for session in others] == [True, True, False, False]
    assert set(session_page_links(second)) == {"next", "prev"}

    last = browser_client.get("/accounts/sessions/" + session_page_links(second)["next"]).content.decode()
    assert str(this_browser.id) in last and last.count("This browser") == 1
    assert set(session_page_links(last)) == {"prev"} and "Newer sessions" in last
    # One session on this page, others elsewhere: signing out the others is still offered.
    assert "Sign out everywhere else" in last

    back = browser_client.get("/accounts/sessions/" + session_page_links(second)["prev"]).content.decode()
    assert [str(session.id) in back for session in others] == [False, False, True, True]


def test_the_sessions_page_refuses_a_cursor_it_did_not_give(browser_client):
    response = browser_client.get("/accounts/sessions/?cursor=not-a-cursor")
    assert response.status_code == 400
    assert "Start again from the first page." in response.content.decode()


@pytest.mark.parametrize("count", [3, 200])
def test_the_sessions_page_costs_the_same_queries_however_many_sessions(browser_client, user, settings, count,
                                                                       django_assert_num_queries):
    """Django's session row, the sign-in's check, and the page (a LIMIT of the page size and one: whether more
    follow)."""
    from sessions_app.conf import app_settings

    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "MAX_SESSIONS_PER_USER": None}
    for _ in range(count):
        open_session(user)
    with django_assert_num_queries(3) as captured:
        html = browser_client.get("/accounts/sessions/").content.decode()
    size = app_settings.SESSIONS_PAGE_SIZE
    assert captured.captured_queries[2]["sql"].endswith(f"LIMIT {size + 1}")
    assert html.count('<li class="session') == min(count + 1, size)


def test_ending_another_session_from_the_page(browser_client, api):
    tokens = login(api)
    other = Session.objects.exclude(pk=browser_session(browser_client).pk).get()
    response = browser_client.post(f"/accounts/sessions/{other.id}/end/")
    assert response.status_code == 302 and response["Location"] == "/accounts/sessions/"
    assert api.get("/api/auth/me/", **bearer(tokens["access"])).status_code == 401
    assert browser_client.get("/accounts/").status_code == 200


def test_a_session_of_another_user_cannot_be_ended(browser_client, bystander):
    theirs = Session.objects.get(pk=bystander.session.id)
    browser_client.post(f"/accounts/sessions/{theirs.id}/end/")
    theirs.refresh_from_db()
    assert theirs.is_alive()


def test_ending_this_session_from_the_page_signs_out(browser_client):
    session = browser_session(browser_client)
    response = browser_client.post(f"/accounts/sessions/{session.id}/end/")
    assert response["Location"] == "/accounts/login/"
    assert signed_out(browser_client)


def test_sign_out_everywhere_else(browser_client, api):
    tokens = [login(api), login(api)]
    browser_client.post("/accounts/sessions/end-others/")
    for pair in tokens:
        assert api.get("/api/auth/me/", **bearer(pair["access"])).status_code == 401
    assert browser_client.get("/accounts/").status_code == 200
    assert Session.objects.alive().get() == browser_session(browser_client)


# --- the account home ----------------------------------------------------------------------------------------
def test_the_account_home_shows_the_address_and_saves_the_profile(browser_client, user):
    html = browser_client.get("/accounts/").content.decode()
    assert "alice@example.com" in html and "verified" in html
    response = browser_client.post("/accounts/", {"name": "Alice Liddell", "language": "fr"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.name, user.language) == ("Alice Liddell", "fr")
    assert "Your changes are saved." in browser_client.get("/accounts/").content.decode()


def test_a_bad_profile_shows_the_error_next_to_the_field(browser_client, user):
    response = browser_client.post("/accounts/", {"name": "a\u202eb", "language": "xx"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'aria-invalid="true"' in html and "There is a problem" in html
    user.refresh_from_db()
    assert user.language != "xx"


# --- confirm the password, sensitive pages -------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/accounts/change-email/", "/accounts/delete/"])
def test_a_sensitive_page_needs_a_recent_sign_in(browser_client, path):
    assert browser_client.get(path).status_code == 200  # just signed in
    age_sign_in(browser_client)
    response = browser_client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/confirm-password/?next={path.replace('/', '%2F')}"


def test_confirming_the_password_reopens_the_window(browser_client, user):
    age_sign_in(browser_client)
    page = "/accounts/confirm-password/?next=/accounts/change-email/"
    wrong = browser_client.post(page, {"password": WRONG, "next": "/accounts/change-email/"})
    assert wrong.status_code == 200 and "The current password is incorrect." in wrong.content.decode()
    assert SecurityEvent.objects.filter(kind=account_events.REAUTH_FAIL, user=user).count() == 1

    right = browser_client.post(page, {"password": PASSWORD, "next": "/accounts/change-email/"})
    assert right.status_code == 302 and right["Location"] == "/accounts/change-email/"
    assert browser_client.get("/accounts/change-email/").status_code == 200


def test_too_many_wrong_passwords_end_the_session(browser_client, user, settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "REAUTH_MAX_FAILURES": 3}
    age_sign_in(browser_client)
    for _ in range(2):
        browser_client.post("/accounts/confirm-password/", {"password": WRONG})
    response = browser_client.post("/accounts/confirm-password/", {"password": WRONG})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert signed_out(browser_client)


def test_the_flow_refuses_when_the_window_closed_after_the_page_was_shown(browser_client, user):
    """The page checks the window when it is shown; the flow checks it again when it acts."""
    from accounts.flows import email_change
    from authcore.errors import ServiceError
    from authcore.requestmeta import ClientInfo

    age_sign_in(browser_client)
    with pytest.raises(ServiceError) as refused:
        email_change.request_email_change(user=user, password=None, new_email="alice@new.example",
                                          session_id=browser_session(browser_client).id,
                                          client=ClientInfo(ip_address="192.0.2.1", user_agent=""))
    assert refused.value.code == "reauthentication_required"
    user.refresh_from_db()
    assert user.pending_email == ""


def test_a_recent_sign_in_never_changes_the_password_without_the_current_one(browser_client, user):
    from accounts.flows import passwords
    from authcore.errors import ServiceError
    from authcore.requestmeta import ClientInfo

    with pytest.raises(ServiceError) as refused:
        passwords.change_password(user=user, session_id=browser_session(browser_client).id, current_password=None,
                                  new_password=NEW_PASSWORD, client=ClientInfo(ip_address="192.0.2.1", user_agent=""))
    assert refused.value.code == "password_incorrect"
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_no_password_and_no_session_is_refused(user):
    from accounts.flows import deletion
    from authcore.errors import ServiceError
    from authcore.requestmeta import ClientInfo

    with pytest.raises(ServiceError) as refused:
        deletion.delete_account(user=user, password=None, session_id=None,
                                client=ClientInfo(ip_address="192.0.2.1", user_agent=""))
    assert refused.value.code == "reauthentication_required"
    assert User.objects.filter(pk=user.pk).exists()


def test_changing_the_password_ends_the_others_and_continues_here(browser_client, api, user):
    tokens = login(api)
    old_session = browser_session(browser_client)
    response = browser_client.post("/accounts/password-change/", {"current_password": PASSWORD,
                                                                  "new_password": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/accounts/"
    assert response.cookies[account_settings.DEVICE_COOKIE_NAME]["httponly"]
    assert api.get("/api/auth/me/", **bearer(tokens["access"])).status_code == 401
    old_session.refresh_from_db()
    assert not old_session.is_alive()
    new_session = browser_session(browser_client)
    assert new_session.transport == Session.Transport.BROWSER and new_session.is_alive()
    assert browser_client.get("/accounts/").status_code == 200
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_a_password_the_policy_refuses_is_shown_next_to_the_field(browser_client, user):
    response = browser_client.post("/accounts/password-change/", {"current_password": PASSWORD,
                                                                  "new_password": "qwertyuiopasdfgh"})
    assert response.status_code == 200 and "This password is too common." in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


@pytest.mark.django_db(transaction=True)
def test_changing_the_address_sends_the_link_to_the_new_one(browser_client, user):
    response = browser_client.post("/accounts/change-email/", {"new_email": "alice@new.example"})
    assert response.status_code == 302
    assert [message.to for message in mail.outbox] == [["alice@new.example"]]
    user.refresh_from_db()
    assert user.pending_email == "alice@new.example" and user.email == "alice@example.com"
    assert "alice@new.example" in browser_client.get("/accounts/").content.decode()


def test_the_same_address_is_refused_next_to_the_field(browser_client):
    response = browser_client.post("/accounts/change-email/", {"new_email": "Alice@Example.com"})
    assert response.status_code == 200 and "This is already your address." in response.content.decode()


def test_deleting_needs_the_confirmation_box(browser_client, user):
    response = browser_client.post("/accounts/delete/", {})
    assert response.status_code == 200 and User.objects.filter(pk=user.pk).exists()


def test_deleting_the_account_from_the_page(browser_client, user):
    response = browser_client.post("/accounts/delete/", {"confirm": "on"})
    assert response.status_code == 302 and response["Location"] == "/accounts/deleted/"
    assert "Account deleted" in browser_client.get("/accounts/deleted/").content.decode()
    # Shown once: a reload, or anyone else, goes to the sign-in page.
    assert browser_client.get("/accounts/deleted/")["Location"] == "/accounts/login/"
    assert Client().get("/accounts/deleted/")["Location"] == "/accounts/login/"
    assert not User.objects.filter(pk=user.pk).exists()
    assert signed_out(browser_client)
    assert SecurityEvent.objects.filter(kind=account_events.ACCOUNT_DELETED).exists()


def test_the_export_is_a_json_file_of_a_post(browser_client, user):
    assert browser_client.get("/accounts/export/").status_code == 405
    response = browser_client.post("/accounts/export/")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="account-data.json"'
    document = json.loads(response.content)
    assert document["profile"]["email"] == "alice@example.com"
    current = [item for item in document["sessions"]["items"] if item["current"]]
    assert [item["id"] for item in current] == [str(browser_session(browser_client).id)]
    assert SecurityEvent.objects.filter(kind=account_events.DATA_EXPORTED, user=user).count() == 1


# --- no dead ends --------------------------------------------------------------------------------------------
def test_the_home_page_offers_sign_in_or_the_account(user):
    client = Client()
    assert 'href="/accounts/login/"' in client.get("/").content.decode()
    sign_in(client)
    html = client.get("/").content.decode()
    assert 'href="/accounts/"' in html and 'action="/accounts/logout/"' in html


def test_the_reset_done_page_leads_to_the_account_when_signed_in(browser_client):
    html = browser_client.get("/accounts/password-reset/done/").content.decode()
    assert 'href="/accounts/"' in html
    assert 'href="/accounts/login/"' in Client().get("/accounts/password-reset/done/").content.decode()


def test_changing_the_password_with_several_authentication_backends(user, settings):
    """Django must be told which backend signs the browser in again when a project has several: the one it
    signed in with."""
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend",
                                        "django.contrib.auth.backends.AllowAllUsersModelBackend"]
    client = Client()
    assert sign_in(client).status_code == 302
    response = client.post("/accounts/password-change/", {"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/accounts/"
    assert client.get("/accounts/").status_code == 200


def test_the_password_page_asks_for_the_current_password_even_just_after_signing_in(browser_client, user):
    response = browser_client.post("/accounts/password-change/", {"current_password": WRONG,
                                                                  "new_password": NEW_PASSWORD})
    assert response.status_code == 200 and "The current password is incorrect." in response.content.decode()
    assert SecurityEvent.objects.filter(kind=account_events.PASSWORD_CHANGE_FAIL, user=user).count() == 1
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


@pytest.mark.parametrize("action, comes_back_to", [
    ("/accounts/export/", "/accounts/"),
    ("/accounts/sessions/end-others/", "/accounts/sessions/"),
    ("/accounts/logout/", None),
])
def test_a_post_only_action_that_needs_a_sign_in_comes_back_to_its_page(user, action, comes_back_to):
    """Signing in after it comes back to the page with the button, never to the action (a GET there is 405)."""
    client = Client()
    response = client.post(action)
    if comes_back_to is None:  # signing out a browser that is not signed in: nothing to do
        assert response["Location"] == "/accounts/login/"
        return
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={comes_back_to.replace('/', '%2F')}"
    assert sign_in(client, next=comes_back_to)["Location"] == comes_back_to


def test_any_logout_ends_the_session_the_admins_too(make_user):
    make_user("staff@example.com", is_staff=True)
    client = Client()
    assert sign_in(client, email="staff@example.com").status_code == 302
    session = browser_session(client)
    assert client.get("/admin/").status_code == 200  # signed in to the admin too

    assert client.post("/admin/logout/").status_code == 200

    session.refresh_from_db()
    assert session.revoke_reason == Session.RevokeReason.LOGOUT
    assert signed_out(client)


def test_ending_a_session_that_is_not_there_says_nothing(browser_client):
    response = browser_client.post("/accounts/sessions/00000000-0000-4000-8000-000000000000/end/", follow=True)
    assert response.status_code == 200 and "signed out" not in response.content.decode().split("<main")[1]
