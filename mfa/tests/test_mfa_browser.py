"""Two-step sign-in end to end in headless Chromium against the live server, at a phone's width: set up an
authenticator app from the account home (its key read off the page, its code computed as the phone would), see the
recovery codes once, sign out, and sign in again through the second step with the app's code; sign in with a
recovery code typed loosely, which does not work a second time. Screenshots of the set-up page and of the second
step go to test-artifacts/ for a person to look at.

The live server runs on the real clock: the app's codes come from now. A code's step is refused once a code of it
or of a later step was accepted, and one step either side of now is accepted, so the sign-in after the set-up
types the code of the next step (later than the one that confirmed the app) rather than waiting 30 seconds."""
import re
import time

from playwright.sync_api import expect
import pyotp
import pytest
from rest_framework.test import APIClient

from mfa.models import Authenticator, RecoveryCode
from sessions_app.models import Session

from .browser import (
    PHONE,
    assert_signed_in_home,
    browser_sessions,
    confirm_password,
    screenshot,
    sign_in_with_password,
    sign_out,
)
from .helpers import enrol_totp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECOVERY_CODE = re.compile(r"[A-Z0-9]{4}(-[A-Z0-9]{4}){3}")


@pytest.fixture
def site(live_server, settings):
    # The live server speaks plain http; secure cookies would never come back from the browser.
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = settings.LANGUAGE_COOKIE_SECURE = False
    settings.ACCOUNTS = {**settings.ACCOUNTS, "SITE_URL": live_server.url}
    return live_server.url


@pytest.fixture
def phone(browser):
    """A page at a phone's width in a browser of its own. Scripts on: the overflow is measured with one."""
    context = browser.new_context(viewport=PHONE)
    yield context.new_page()
    context.close()






def assert_on_second_step(page, site: str):
    expect(page).to_have_url(f"{site}/accounts/login/verify/")
    expect(page.get_by_role("heading", name="Two-step sign-in", level=1)).to_be_visible()


def answer_second_step(page, code: str):
    page.get_by_label("Your code").fill(code)
    page.get_by_role("button", name="Sign in", exact=True).click()








def test_set_up_an_app_and_sign_in_with_its_code(phone, site, user):
    page = phone
    sign_in_with_password(page, site)
    assert_signed_in_home(page, site)

    page.get_by_role("link", name="Two-step sign-in").click()
    expect(page).to_have_url(f"{site}/accounts/mfa/")
    expect(page.get_by_text("Two-step sign-in is off.", exact=False)).to_be_visible()
    page.get_by_role("button", name="Set up an authenticator app").click()
    page.wait_for_url(f"{site}/accounts/confirm-password/**")  # the sign-in is no proof for this
    confirm_password(page)
    expect(page).to_have_url(f"{site}/accounts/mfa/")
    page.get_by_role("button", name="Set up an authenticator app").click()
    expect(page).to_have_url(f"{site}/accounts/mfa/totp/")
    expect(page.locator("figure.qr-code svg")).to_be_visible()
    secret = "".join(page.locator("code.secret").inner_text().split())
    app = pyotp.TOTP(secret)
    screenshot(page, "set-up")

    page.get_by_label("Code from your authenticator app").fill(app.now())
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    # The codes are the answer to the post, never a page of their own.
    expect(page).to_have_url(f"{site}/accounts/mfa/totp/")
    expect(page.get_by_role("heading", name="Your recovery codes", level=1)).to_be_visible()
    codes = page.locator("ul.recovery-codes li").all_inner_texts()
    assert len(codes) == len(set(codes)) == 10
    assert all(RECOVERY_CODE.fullmatch(code.strip()) for code in codes), codes
    assert RecoveryCode.objects.filter(user=user, used_at=None).count() == 10
    assert Authenticator.objects.active().filter(user=user).count() == 1

    page.get_by_role("link", name="I have saved them").click()
    expect(page).to_have_url(f"{site}/accounts/mfa/")
    expect(page.get_by_text("Two-step sign-in is on:", exact=False)).to_be_visible()
    expect(page.get_by_text("You have 10 unused recovery codes.", exact=False)).to_be_visible()
    assert page.locator("ul.recovery-codes").count() == 0  # shown once only

    sign_out(page)
    assert browser_sessions(user) == []
    sign_in_with_password(page, site)
    assert_on_second_step(page, site)
    assert browser_sessions(user) == []  # the password alone opens nothing
    page.goto(f"{site}/accounts/")
    assert page.url.startswith(f"{site}/accounts/login/")
    page.goto(f"{site}/accounts/login/verify/")  # the step is still held
    assert_on_second_step(page, site)
    screenshot(page, "second-step")

    # The next step's code: within a step of now, and later than the one that confirmed the app.
    answer_second_step(page, app.at(time.time() + 30))
    assert_signed_in_home(page, site)
    [session] = browser_sessions(user)
    assert session.auth_methods == "pwd otp mfa" and session.transport == Session.Transport.BROWSER


def test_sign_in_with_a_recovery_code_once(phone, site, user):
    _, codes, _ = enrol_totp(APIClient())
    code, other = codes[0], codes[1]
    assert "-" in code and code != code.lower()
    page = phone

    sign_in_with_password(page, site)
    assert_on_second_step(page, site)
    answer_second_step(page, code.lower().replace("-", " "))
    assert_signed_in_home(page, site)
    assert RecoveryCode.objects.filter(user=user, used_at__isnull=False).count() == 1
    sign_out(page)

    # The same code again: refused on the step page, which says why, and nothing is signed in.
    sign_in_with_password(page, site)
    assert_on_second_step(page, site)
    before = browser_sessions(user)
    answer_second_step(page, code)
    assert_on_second_step(page, site)
    field = page.get_by_label("Your code")
    expect(field).to_have_attribute("aria-invalid", "true")  # waits for the answer: the same page and URL
    error = page.locator(f"#{field.get_attribute('aria-describedby').split()[-1]}")
    expect(error).to_be_visible()
    assert "incorrect" in error.inner_text()
    expect(page.locator(".error-summary")).to_be_visible()
    assert browser_sessions(user) == before
    assert RecoveryCode.objects.filter(user=user, used_at__isnull=False).count() == 1

    # Another unused code, in the same box, still works.
    answer_second_step(page, other)
    assert_signed_in_home(page, site)
    assert RecoveryCode.objects.filter(user=user, used_at__isnull=False).count() == 2
