"""Every page passes axe-core with no "serious" or "critical" violation, in English and in Arabic (right to
left), in headless Chromium against the live server: the home page, the account pages (those reached from an
emailed link in their "this link does not work" state), the connect callback's page, a form showing its
errors, the "too many attempts" page; the pages of a signed-in account, signed in through the sign-in page; and
the pages of two-step sign-in (setting up an app, its recovery codes, the confirmation that takes only a code, the
second step of signing in); the pages of an account with passkeys only (the offer to stop using a password, the
reset link's offer of a passkey and the page that adds one)."""
import base64
from importlib.resources import files
import re

from django.conf import settings as django_settings
from django.utils import timezone
from playwright.sync_api import expect
import pyotp
import pytest
from rest_framework.test import APIClient

from accounts.tokens import make_link_token, password_reset_tokens
from authcore.testing import PASSWORD
from mfa import recovery_codes
from mfa.models import Authenticator, RecoveryCode
from mfa.tests.helpers import enrol_totp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# axe-core as vendored by axe-playwright-python (requirements-dev.txt).
AXE = files("axe_playwright_python").joinpath("axe.min.js")
BLOCKING = {"serious", "critical"}
LANGUAGES = ["en", "ar"]
BAD_LINK = "AAAA.abc-0123"  # well formed, signed by nobody
CONNECTION_KEY = base64.urlsafe_b64encode(b"k" * 32).decode()  # the vault's key for a test provider

PAGES = [
    "/",
    "/accounts/register/",
    "/accounts/register/sent/",
    "/accounts/verify-email/resend/",
    "/accounts/verify-email/resend/sent/",
    f"/accounts/verify-email/{BAD_LINK}/",  # the button; the link is only checked when it is pressed
    "/accounts/verify-email/confirm/",
    f"/accounts/change-email/{BAD_LINK}/",
    "/accounts/password-reset/",
    "/accounts/password-reset/sent/",
    f"/accounts/password-reset/{BAD_LINK}/",
    "/accounts/password-reset/done/",
    "/accounts/not-me/not-a-token/",
    "/accounts/login/",
    "/connections/example/callback/",  # no state, no code: the "not connected" page
]


@pytest.fixture
def open_page(browser, live_server, settings):
    # The live server speaks plain http; secure cookies would never come back from the browser.
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = settings.LANGUAGE_COOKIE_SECURE = False
    contexts = []

    def open_page(path: str, language: str):
        # axe is injected as an inline script, which the pages' CSP (rightly) refuses: the test's browser
        # ignores the policy (config/tests/test_csp_browser.py checks the pages under it).
        context = browser.new_context(bypass_csp=True)
        contexts.append(context)
        context.add_cookies([{"name": django_settings.LANGUAGE_COOKIE_NAME, "value": language,
                              "url": live_server.url}])
        page = context.new_page()
        page.goto(f"{live_server.url}{path}")
        return page

    yield open_page
    for context in contexts:
        context.close()


def assert_accessible(page, language: str):
    assert page.evaluate("document.documentElement.lang") == language
    page.add_script_tag(path=str(AXE))
    results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    blocking = [violation for violation in results["violations"] if violation["impact"] in BLOCKING]
    assert not blocking, f"axe-core on {page.url} ({language}):\n" + "\n".join(
        f"- {violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(" ".join(node["target"]) for node in violation["nodes"])
        for violation in blocking)


# The pages of a signed-in account (a sign-in just made: the sensitive ones show their form, not the
# password confirmation first).
SIGNED_IN_PAGES = [
    "/accounts/",
    "/accounts/sessions/",
    "/accounts/confirm-password/",
    "/accounts/password-change/",
    "/accounts/change-email/",
    "/accounts/delete/",
    "/connections/",
]


def sign_in(page, site: str, email: str = "alice@example.com", password: str = PASSWORD):
    """Sign in through the sign-in page, in the page's own context (its cookies, its language: the fields are
    found by name, not by their translated labels)."""
    page.goto(f"{site}/accounts/login/")
    page.fill("main input[name=email]", email)
    page.fill("main input[name=password]", password)
    page.click("main button[type=submit]")
    page.wait_for_url(lambda url: not url.split("?")[0].endswith("/accounts/login/"))


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("path", PAGES)
def test_the_page_is_accessible(open_page, path, language):
    assert_accessible(open_page(path, language), language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_form_with_errors_is_accessible(open_page, language):
    page = open_page("/accounts/register/", language)
    page.click("main button[type=submit]")
    page.wait_for_selector("main .errorlist li")
    assert_accessible(page, language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_too_many_attempts_page_is_accessible(open_page, language, user, settings):
    # One look at a reset link an hour: the second look is refused with the "too many attempts" page.
    settings.AUTHCORE = {**settings.AUTHCORE, "RATE_LIMITS": {"password_reset_confirm": {"ip": "1/h"}}}
    page = open_page(f"/accounts/password-reset/{make_link_token(password_reset_tokens, user)}/", language)
    assert page.reload().status == 429
    assert_accessible(page, language)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("path", SIGNED_IN_PAGES)
def test_the_signed_in_page_is_accessible(open_page, live_server, user, path, language):
    page = open_page("/accounts/login/", language)
    sign_in(page, live_server.url)
    expect(page).to_have_url(f"{live_server.url}/accounts/")
    response = page.goto(f"{live_server.url}{path}")
    assert response.ok and page.url == f"{live_server.url}{path}"  # signed in, not sent elsewhere
    assert_accessible(page, language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_sign_in_page_with_its_error_summary_is_accessible(open_page, user, language):
    page = open_page("/accounts/login/", language)
    page.fill("main input[name=email]", "alice@example.com")
    page.fill("main input[name=password]", "not the password")
    page.click("main button[type=submit]")
    page.wait_for_selector("main .error-summary li")
    assert_accessible(page, language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_signed_in_pages_in_their_other_states_are_accessible(open_page, live_server, user, settings, language):
    """The sessions page with several sessions (each card's button, "sign out everywhere else") and a
    confirmation message, the profile form and the password form showing their errors, the page that moves on to
    a provider, the page after a deletion."""
    from sessions_app.tests.helpers import open_session

    settings.CONNECTIONS = {**settings.CONNECTIONS, "ENCRYPTION_KEYS": [CONNECTION_KEY], "PROVIDERS": {
        "example": {"client_id": "id", "client_secret": "secret", "scopes": ["read"],
                    "authorization_url": "https://provider.example/authorize",
                    "token_url": "https://provider.example/token"}}}
    open_session(user)
    page = open_page("/accounts/login/", language)
    sign_in(page, live_server.url)

    page.goto(f"{live_server.url}/accounts/sessions/")
    page.click("form[action$='/end-others/'] button")
    page.wait_for_selector("main .message")
    open_session(user)
    page.goto(f"{live_server.url}/accounts/sessions/")
    assert page.locator("main .session").count() == 2
    assert_accessible(page, language)

    page.goto(f"{live_server.url}/accounts/")
    page.fill("main input[name=name]", "a\u202eb")
    page.click("main form:has(input[name=name]) button[type=submit]")
    page.wait_for_selector("main .error-summary")
    assert_accessible(page, language)

    page.goto(f"{live_server.url}/accounts/password-change/")
    page.fill("main input[name=current_password]", "not the password")
    page.fill("main input[name=new_password]", "short")
    page.click("main button[type=submit]")
    page.wait_for_selector("main .error-summary")
    assert_accessible(page, language)

    # The page that moves on to the provider: a meta refresh leaves it at once, so axe runs on its markup as
    # served (the refresh taken out), in a page of the live server's origin.
    from django.test import Client

    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.post("/accounts/login/", {"email": "alice@example.com", "password": PASSWORD})
    served = client.post("/connections/example/connect/")
    assert served.status_code == 200
    html = re.sub(r'<meta http-equiv="refresh"[^>]*>', "", served.content.decode())
    page.goto(f"{live_server.url}/accounts/")
    page.set_content(html)
    assert_accessible(page, language)

    page.goto(f"{live_server.url}/accounts/delete/")
    page.check("main input[name=confirm]")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{live_server.url}/accounts/deleted/")
    assert_accessible(page, language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_pages_of_setting_up_two_step_sign_in_are_accessible(open_page, live_server, user, language):
    """The factors' page with the app off, the app's set-up page with its QR code and then with a wrong code's
    error, the recovery codes, the factors' page with the app on, the confirmation that takes only a code."""
    site = live_server.url
    page = open_page("/accounts/login/", language)
    sign_in(page, site)
    page.goto(f"{site}/accounts/mfa/")
    assert page.locator("main form[action$='/accounts/mfa/totp/start/'] button").count() == 1  # off
    assert_accessible(page, language)

    page.click("main form[action$='/accounts/mfa/totp/start/'] button")
    page.wait_for_url(re.compile(r".*/accounts/confirm-password/\?next=.*"))  # the sign-in is no proof for this
    page.fill("main input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{site}/accounts/mfa/")
    page.click("main form[action$='/accounts/mfa/totp/start/'] button")
    page.wait_for_url(f"{site}/accounts/mfa/totp/")
    expect(page.locator("main figure.qr-code svg")).to_be_visible()
    assert_accessible(page, language)

    page.fill("main input[name=code]", "000000")
    page.click("main button[type=submit]")
    page.wait_for_selector("main .error-summary li")
    assert page.locator("main input[name=code]").get_attribute("aria-invalid") == "true"
    expect(page.locator("main figure.qr-code svg")).to_be_visible()  # the same page, the QR code again
    assert_accessible(page, language)

    app = pyotp.TOTP("".join(page.locator("main code.secret").inner_text().split()))
    page.fill("main input[name=code]", app.now())
    page.click("main button[type=submit]")
    page.wait_for_selector("main ul.recovery-codes")
    assert page.locator("main ul.recovery-codes li").count() == 10
    assert_accessible(page, language)

    page.goto(f"{site}/accounts/mfa/")
    assert page.locator("main form[action$='/accounts/mfa/totp/remove/'] button").count() == 1  # on
    assert page.locator("main form[action$='/accounts/mfa/recovery-codes/'] button").count() == 1
    assert_accessible(page, language)

    response = page.goto(f"{site}/accounts/confirm-password/?factor=1")
    assert response.ok and page.url == f"{site}/accounts/confirm-password/?factor=1"
    assert page.locator("main input[name=code]").count() == 1
    assert page.locator("main input[name=password]").count() == 0
    assert_accessible(page, language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_second_step_of_signing_in_is_accessible(open_page, live_server, user, language):
    """Empty, and showing a wrong code's error."""
    enrol_totp(APIClient())
    page = open_page("/accounts/login/", language)
    sign_in(page, live_server.url)
    expect(page).to_have_url(f"{live_server.url}/accounts/login/verify/")
    assert page.locator("main input[name=code]").count() == 1
    assert_accessible(page, language)

    page.fill("main input[name=code]", "000000")
    page.click("main button[type=submit]")
    page.wait_for_selector("main .error-summary li")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/verify/")
    assert page.locator("main input[name=code]").get_attribute("aria-invalid") == "true"
    assert_accessible(page, language)


def give_passkey(user, *, recovery_code: str) -> None:
    """A passkey (as stored; no key answers for it here) and one recovery code, straight into the database."""
    Authenticator.objects.create(user=user, kind=Authenticator.Kind.WEBAUTHN, name="Phone", passkey=True,
                                 confirmed_at=timezone.now(), credential_id="a11y-key", public_key=b"k")
    RecoveryCode.objects.create(user=user, code_hash=recovery_codes.code_hash(recovery_code))


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_pages_of_passkeys_only_are_accessible(open_page, live_server, user, language):
    """The factors' page offering to stop using a password; for an account without one, the reset page's offer of
    a passkey and the page that adds it, with its code box."""
    code = recovery_codes.new_code()
    give_passkey(user, recovery_code=code)
    site = live_server.url
    page = open_page("/accounts/login/", language)
    sign_in(page, site)
    page.fill("main input[name=code]", code)  # the second step, with the recovery code
    page.click("main form:not(.security-key) button[type=submit]")
    page.wait_for_url(f"{site}/accounts/")
    page.goto(f"{site}/accounts/mfa/")
    assert page.locator("main form[action$='/accounts/mfa/password/remove/'] button").count() == 1
    assert_accessible(page, language)

    user.refresh_from_db()  # the sign-in's last_login, which the reset link is made from
    user.set_unusable_password()
    user.save(update_fields=["password"])
    page.goto(f"{site}/accounts/password-reset/{make_link_token(password_reset_tokens, user)}/")
    assert page.locator("main a[href$='/accounts/mfa/reset/passkey/']").count() == 1
    assert_accessible(page, language)
    page.click("main a[href$='/accounts/mfa/reset/passkey/']")
    page.wait_for_url(f"{site}/accounts/mfa/reset/passkey/")
    page.wait_for_selector("main form.security-key input[name=code]")  # shown by the page's script
    assert_accessible(page, language)
