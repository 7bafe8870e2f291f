"""The signed-in account pages end to end in headless Chromium against the live server, without JavaScript
where practical: sign in and out, the sessions page, the profile, change the password, reset it, delete the
account, confirm the password on a sensitive page; a session ended elsewhere (another browser, an operator in
the admin) signs this browser out at its next request. Screenshots at a phone's and a desktop's width go to
test-artifacts/ for a person to look at."""
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.db.models import F
from playwright.sync_api import expect
import pytest
from rest_framework.test import APIClient

from accounts.testing import login
from authcore.testing import PASSWORD, bearer
from sessions_app.models import Session

from .helpers import link_in, only_email_to

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(django_settings.BASE_DIR) / "test-artifacts"
NEW_PASSWORD = "violet harbour lantern mosaic"
User = get_user_model()


@pytest.fixture
def site(live_server, settings):
    # The live server speaks plain http; secure cookies would never come back from the browser.
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = settings.LANGUAGE_COOKIE_SECURE = False
    settings.ACCOUNTS = {**settings.ACCOUNTS, "SITE_URL": live_server.url}
    return live_server.url


@pytest.fixture
def new_page(browser):
    """A page in a browser of its own (its own cookies): without JavaScript unless asked."""
    contexts = []

    def new_page(*, javascript: bool = False, **options):
        context = browser.new_context(java_script_enabled=javascript, **options)
        contexts.append(context)
        return context.new_page()

    yield new_page
    for context in contexts:
        context.close()


@pytest.fixture
def no_js_page(new_page):
    return new_page()


def sign_in(page, site: str, email: str = "alice@example.com", password: str = PASSWORD, next_path: str = ""):
    page.goto(f"{site}/accounts/login/" + (f"?next={quote(next_path)}" if next_path else ""))
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def assert_signed_in_home(page, site: str):
    expect(page).to_have_url(f"{site}/accounts/")
    expect(page.get_by_role("heading", name="Your account", level=1)).to_be_visible()


def assert_on_sign_in_page(page, site: str, next_path: str | None = None):
    expected = f"{site}/accounts/login/" + (f"?next={quote(next_path, safe='')}" if next_path else "")
    expect(page).to_have_url(expected)
    expect(page.get_by_role("heading", name="Sign in", level=1)).to_be_visible()


def browser_sessions(user) -> list[Session]:
    return list(Session.objects.filter(user=user, transport=Session.Transport.BROWSER, revoked_at=None))


def register_and_verify(page, site: str, email: str, name: str, password: str):
    page.goto(f"{site}/accounts/register/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    page.goto(link_in(only_email_to(email).body))
    page.get_by_role("button", name="Verify my email address").click()
    expect(page.get_by_role("heading", name="Email address verified")).to_be_visible()


def test_register_verify_sign_in_manage_and_sign_out(no_js_page, site):
    page = no_js_page
    register_and_verify(page, site, "new@example.com", "Nina", "plum tree orbit cascade")
    sign_in(page, site, "new@example.com", "plum tree orbit cascade")
    assert_signed_in_home(page, site)
    main = page.locator("main")
    assert "new@example.com" in main.inner_text() and "verified" in main.inner_text()
    user = User.objects.get(email="new@example.com")
    [browser_session] = browser_sessions(user)

    # The sessions page: this browser, marked as such.
    page.get_by_role("link", name="Your sessions").click()
    expect(page).to_have_url(f"{site}/accounts/sessions/")
    current = page.locator("li.session.current")
    assert current.count() == 1
    assert "This browser" in current.inner_text()
    assert current.get_attribute("aria-labelledby") == f"session-{browser_session.id}"
    expect(current.get_by_role("button", name="Sign out", exact=True)).to_be_visible()
    assert page.get_by_text("This browser", exact=True).count() == 1

    # The profile: the name is saved and shown.
    page.get_by_role("link", name="Back to your account").click()
    assert page.get_by_label("Name (optional)").input_value() == "Nina"
    page.get_by_label("Name (optional)").fill("Nina Quist")
    page.get_by_role("button", name="Save changes").click()
    assert_signed_in_home(page, site)
    expect(page.get_by_text("Your changes are saved.")).to_be_visible()
    assert page.get_by_label("Name (optional)").input_value() == "Nina Quist"
    user.refresh_from_db()
    assert user.name == "Nina Quist"

    # Change the password: the API session opened before ends; this browser stays signed in.
    api = APIClient()
    tokens = login(api, "new@example.com", "plum tree orbit cascade")
    assert api.get("/api/auth/me/", **bearer(tokens["access"])).status_code == 200
    page.get_by_role("link", name="Change your password").click()
    expect(page).to_have_url(f"{site}/accounts/password-change/")
    page.get_by_label("Current password").fill("plum tree orbit cascade")  # asked on the form, always
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password", exact=True).click()
    assert_signed_in_home(page, site)
    expect(page.get_by_text("Your password is changed.")).to_be_visible()
    assert api.get("/api/auth/me/", **bearer(tokens["access"])).status_code == 401
    page.goto(f"{site}/accounts/")
    assert_signed_in_home(page, site)
    [after] = browser_sessions(user)
    assert after.id != browser_session.id  # the browser continues in the session the change opened
    assert login(APIClient(), "new@example.com", NEW_PASSWORD)["access"]

    # Sign out with the button of the top navigation.
    page.locator("nav.account-nav").get_by_role("button", name="Sign out", exact=True).click()
    assert_on_sign_in_page(page, site)
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    assert browser_sessions(user) == []
    page.goto(f"{site}/accounts/")
    assert_on_sign_in_page(page, site, next_path="/accounts/")


def test_one_browser_signs_out_another_on_the_sessions_page(new_page, site, user):
    first, second = new_page(), new_page()
    sign_in(first, site)
    assert_signed_in_home(first, site)
    sign_in(second, site)
    assert_signed_in_home(second, site)
    sessions = browser_sessions(user)
    assert len(sessions) == 2

    first.goto(f"{site}/accounts/sessions/")
    cards = first.locator("li.session")
    assert cards.count() == 2
    assert first.locator("li.session.current").count() == 1
    other = first.locator("li.session:not(.current)")
    expect(first.get_by_role("button", name="Sign out everywhere else")).to_be_visible()
    other.get_by_role("button", name="Sign out this session").click()
    expect(first).to_have_url(f"{site}/accounts/sessions/")
    expect(first.get_by_text("That session is signed out.")).to_be_visible()
    assert first.locator("li.session").count() == 1
    assert first.locator("li.session.current").count() == 1
    assert len(browser_sessions(user)) == 1

    second.goto(f"{site}/accounts/sessions/")
    assert_on_sign_in_page(second, site, next_path="/accounts/sessions/")
    # The first browser is still signed in.
    first.goto(f"{site}/accounts/")
    assert_signed_in_home(first, site)


def test_an_operator_ends_the_browser_session_in_the_admin(new_page, site, make_user):
    make_user("operator@example.com", is_staff=True, is_superuser=True)
    alice = make_user("alice@example.com")
    alices = new_page()
    sign_in(alices, site)
    assert_signed_in_home(alices, site)
    [session] = browser_sessions(alice)

    operator = new_page(javascript=True, viewport={"width": 1680, "height": 800})
    operator.goto(f"{site}/admin/login/?next=/admin/sessions_app/session/")
    operator.fill("#id_username", "operator@example.com")
    operator.fill("#id_password", PASSWORD)
    operator.click("input[type=submit]")
    operator.wait_for_url("**/admin/sessions_app/session/")
    operator.fill("#searchbar", "alice@example.com")
    operator.press("#searchbar", "Enter")
    operator.wait_for_url("**q=alice*")
    operator.check(f"input[name=_selected_action][value='{session.id}']")
    operator.select_option("select[name=action]", "end_selected_sessions")
    operator.click("button[name=index]")
    assert "Ended 1 session." in operator.locator("ul.messagelist").inner_text()
    session.refresh_from_db()
    assert (session.state, session.revoke_reason) == ("revoked", "ended_by_admin")

    alices.goto(f"{site}/accounts/sessions/")
    assert_on_sign_in_page(alices, site, next_path="/accounts/sessions/")
    # The operator's own admin sign-in is untouched.
    operator.goto(f"{site}/admin/")
    expect(operator).to_have_url(f"{site}/admin/")


def test_reset_the_password_from_the_sign_in_page(no_js_page, site, user):
    page = no_js_page
    page.goto(f"{site}/accounts/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page).to_have_url(f"{site}/accounts/password-reset/")
    page.get_by_label("Email").fill("alice@example.com")
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

    page.goto(link_in(only_email_to("alice@example.com").body))
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("heading", name="Password changed")).to_be_visible()

    page.locator("main").get_by_role("link", name="Sign in", exact=True).click()
    assert_on_sign_in_page(page, site)
    sign_in(page, site, password=PASSWORD)  # the old one no longer works
    assert page.url.startswith(f"{site}/accounts/login/")
    expect(page.locator(".error-summary")).to_be_visible()
    sign_in(page, site, password=NEW_PASSWORD)
    assert_signed_in_home(page, site)


def test_delete_the_account_from_its_page(no_js_page, site, user):
    page = no_js_page
    sign_in(page, site)
    page.get_by_role("link", name="Delete your account").click()
    expect(page).to_have_url(f"{site}/accounts/delete/")
    # Not ticked: nothing happens, the checkbox says why.
    page.get_by_role("button", name="Delete my account").click()
    expect(page.get_by_role("checkbox")).to_have_attribute("aria-invalid", "true")
    assert User.objects.filter(pk=user.pk).exists()

    page.get_by_role("checkbox").check()
    page.get_by_role("button", name="Delete my account").click()
    expect(page.get_by_role("heading", name="Account deleted")).to_be_visible()
    assert not User.objects.filter(pk=user.pk).exists()
    assert not Session.objects.filter(revoked_at=None).exists()
    page.goto(f"{site}/accounts/")
    assert_on_sign_in_page(page, site, next_path="/accounts/")


def test_a_sensitive_page_asks_for_the_password_once_the_sign_in_is_old(no_js_page, site, user):
    page = no_js_page
    sign_in(page, site)
    assert_signed_in_home(page, site)
    assert Session.objects.filter(user=user).update(created_at=F("created_at") - timedelta(minutes=10)) == 1

    page.goto(f"{site}/accounts/change-email/")
    expect(page).to_have_url(f"{site}/accounts/confirm-password/?next={quote('/accounts/change-email/', safe='')}")
    expect(page.get_by_role("heading", name="Confirm your password")).to_be_visible()

    page.get_by_label("Password").fill("not my password at all")
    page.get_by_role("button", name="Confirm", exact=True).click()
    expect(page.get_by_role("heading", name="Confirm your password")).to_be_visible()
    password = page.get_by_label("Password")
    expect(password).to_have_attribute("aria-invalid", "true")  # waits for the answer: the same page and URL
    error_id = password.get_attribute("aria-describedby").split()[-1]
    error = page.locator(f"#{error_id}")
    expect(error).to_be_visible()
    assert error.inner_text().strip()
    expect(page.locator(".error-summary")).to_be_visible()

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm", exact=True).click()
    expect(page).to_have_url(f"{site}/accounts/change-email/")
    expect(page.get_by_role("heading", name="Change your email address")).to_be_visible()
    # Confirmed: the other sensitive pages no longer ask either.
    page.goto(f"{site}/accounts/delete/")
    expect(page).to_have_url(f"{site}/accounts/delete/")


NO_OVERFLOW = "document.documentElement.scrollWidth <= window.innerWidth"


def screenshot(page, name: str, width: int):
    page.set_viewport_size({"width": width, "height": 800})
    if width <= 360:
        assert page.evaluate(NO_OVERFLOW), (
            f"{page.url} overflows at {width}px: scrollWidth "
            f"{page.evaluate('document.documentElement.scrollWidth')}")
    page.screenshot(path=str(ARTIFACTS / f"account-{name}-{width}.png"), full_page=True)


@pytest.mark.parametrize("width", [360, 1280])
def test_screenshots_of_the_pages_at_a_phone_and_a_desktop_width(new_page, site, user, width):
    ARTIFACTS.mkdir(exist_ok=True)
    # Scripts on: the overflow is measured with one.
    page = new_page(javascript=True, viewport={"width": width, "height": 800})
    page.goto(f"{site}/accounts/login/")
    screenshot(page, "sign-in", width)
    sign_in(page, site)
    assert_signed_in_home(page, site)
    screenshot(page, "home", width)
    page.goto(f"{site}/accounts/sessions/")
    assert page.locator("li.session.current").count() == 1
    screenshot(page, "sessions", width)


def test_signing_in_and_out_by_keyboard_alone(new_page, site, user):
    page = new_page()
    page.goto(f"{site}/accounts/login/")
    for _ in range(10):  # past the language switcher, to the first field of the form
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "email":
            break
    page.keyboard.type("alice@example.com")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "password"
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site}/accounts/")
    assert_signed_in_home(page, site)

    # The sign-out button of the top bar is reached by Tab and pressed with Enter.
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Sign out":
            break
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site}/accounts/login/")
    assert not Session.objects.alive().filter(user=user).exists()
