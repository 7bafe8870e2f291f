"""End to end in headless Chromium against the live server: register, verify, reset."""
import re

from django.core import mail
from playwright.sync_api import expect
import pytest
from rest_framework.test import APIClient

from accounts.testing import login
from authcore.testing import PASSWORD, bearer

from .helpers import link_in, only_email_to

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def site(live_server, settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "SITE_URL": live_server.url}
    return live_server.url


@pytest.fixture
def no_js_page(browser):
    """The pages must work without JavaScript."""
    context = browser.new_context(java_script_enabled=False)
    yield context.new_page()
    context.close()


def test_register_verify_then_log_in(no_js_page, site):
    page = no_js_page
    page.goto(f"{site}/accounts/register/")
    page.get_by_label("Email").fill("new@example.com")
    page.get_by_label("Name").fill("Nina")
    page.get_by_label("Password").fill("plum tree orbit cascade")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

    link = link_in(only_email_to("new@example.com").body)
    assert link.startswith(f"{site}/accounts/verify-email/")
    page.goto(link)
    expect(page.get_by_role("heading", name="Verify your email address")).to_be_visible()
    page.get_by_role("button", name="Verify my email address").click()
    expect(page.get_by_role("heading", name="Email address verified")).to_be_visible()

    assert login(APIClient(), "new@example.com", "plum tree orbit cascade")["access"]


def test_register_shows_field_errors_next_to_the_field(page, site):
    page.goto(f"{site}/accounts/register/")
    page.get_by_label("Email").fill("new@example.com")
    page.get_by_label("Password").fill("qwertyuiopasdfgh")
    page.get_by_role("button", name="Create account").click()
    password = page.get_by_label("Password")
    expect(password).to_have_attribute("aria-invalid", "true")
    error_id = password.get_attribute("aria-describedby").split()[-1]
    assert page.locator(f"#{error_id}").inner_text() == "This password is too common."
    assert mail.outbox == []


def test_reset_password_ends_the_old_sessions(page, site, user):
    api = APIClient()
    old = [login(api), login(api)]

    page.goto(f"{site}/accounts/password-reset/")
    page.get_by_label("Email").fill("alice@example.com")
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

    link = link_in(only_email_to("alice@example.com").body)
    token = link.rstrip("/").rsplit("/", 1)[-1]
    page.goto(link)
    # The token has left the address bar before the form is shown.
    expect(page).to_have_url(f"{site}/accounts/password-reset/new-password/")
    assert token not in page.content()
    page.get_by_label("New password").fill("violet harbour lantern mosaic")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("heading", name="Password changed")).to_be_visible()

    for tokens in old:
        assert api.post("/api/auth/refresh/", {"refresh": tokens["refresh"]}).status_code == 401
        assert api.get("/api/auth/me/", **bearer(tokens["access"])).status_code == 401
    assert api.post("/api/auth/login/", {"email": "alice@example.com", "password": PASSWORD}).status_code == 401
    assert login(api, password="violet harbour lantern mosaic")["access"]
    subjects = [message.subject for message in mail.outbox]
    assert any(re.search(r"was reset", subject) for subject in subjects)
    # The sessions a reset ended vouch for no device: the first login after it is announced.
    assert subjects[-1] == "New sign-in to your Auth Service account"


def test_change_email_confirmed_in_the_browser(no_js_page, site, user):
    api = APIClient()
    tokens = login(api)
    assert api.post("/api/auth/change-email/", {"password": PASSWORD, "new_email": "alice@example.org"},
                    **bearer(tokens["access"])).status_code == 202

    link = link_in(only_email_to("alice@example.org").body)
    assert link.startswith(f"{site}/accounts/change-email/")
    token = link.rstrip("/").rsplit("/", 1)[-1]
    no_js_page.goto(link)
    # The page shows what will happen and changes nothing until the button is pressed; the token has left
    # the address bar.
    expect(no_js_page).to_have_url(f"{site}/accounts/change-email/confirm/")
    assert token not in no_js_page.content()
    expect(no_js_page.get_by_text("alice@example.org")).to_be_visible()
    assert api.get("/api/auth/me/", **bearer(tokens["access"])).json()["email"] == "alice@example.com"
    no_js_page.get_by_role("button", name="Confirm my new email address").click()
    expect(no_js_page.get_by_role("heading", name="Email address changed")).to_be_visible()
    assert api.get("/api/auth/me/", **bearer(tokens["access"])).json()["email"] == "alice@example.org"

    # The same link again: it has been used.
    no_js_page.goto(link)
    expect(no_js_page.get_by_role("heading", name="This link does not work")).to_be_visible()
