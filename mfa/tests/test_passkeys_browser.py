"""Security keys and passkeys end to end in headless Chromium against the live server, at a phone's width, with
the pages' own script (accounts/security-keys.js) and Chromium's virtual authenticators (DevTools' WebAuthn domain)
in place of a key: they make real key pairs and sign real assertions, verifying their user without a prompt.

Add a passkey on the two-step page (the account's first factor: the recovery codes appear), sign out, and sign in
with the passkey alone, no address or password typed, with the page's button and then from the address field's
autofill; add a security key and answer the login's second step with it after the password. A screenshot of the
two-step page with a key listed goes to test-artifacts/.

The sign-in page asks for a passkey from the autofill as soon as it loads (conditional mediation), and a virtual
authenticator answers such a request at once, as if the user had picked the passkey in the suggestions. To take the
button's way instead, the phone's authenticator stops answering (no user presence) before the page loads, so the
autofill's request waits; the click on the button cancels it and asks again, and the phone answers again before that
second request reaches it (its options request is held until then). A virtual authenticator's answering is fixed
for a request once the request reached it: turned back on, it does not answer a request already waiting."""
import re

from playwright.sync_api import expect
import pytest

from mfa.models import Authenticator, RecoveryCode
from sessions_app.models import Session

from .browser import (
    assert_signed_in_home,
    browser_sessions,
    confirm_password,
    screenshot,
    sign_in_with_password,
    sign_out,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSKEY_OPTIONS = "**/accounts/mfa/passkey/options/"
PASSKEY_SIGN_IN = "**/accounts/mfa/passkey/sign-in/"


def add_key(page, site: str, *, name: str, kind: str):
    """On the two-step page: the script shows the form (hidden without WebAuthn), asks for the options, lets the
    authenticator make the key and posts it; the answer is the recovery codes' page (the account's first factor)."""
    page.goto(f"{site}/accounts/mfa/")
    # Without a confirmation since the sign-in, the script's request for options is refused and it sends the
    # browser to confirm the password, which comes back here.
    page.get_by_role("button", name="Add a passkey or security key").click()
    page.wait_for_url(re.compile(r".*/accounts/confirm-password/\?next=.*"))
    confirm_password(page)
    page.wait_for_url(f"{site}/accounts/mfa/")
    page.get_by_label("Name (optional)").fill(name)
    page.get_by_label("Kind").select_option(kind)
    page.get_by_role("button", name="Add a passkey or security key").click()
    page.wait_for_url(f"{site}/accounts/mfa/keys/add/")
    expect(page.get_by_role("heading", name="Your recovery codes", level=1)).to_be_visible()
    assert page.locator("ul.recovery-codes li").count() == 10


def b64url(standard_base64: str) -> str:
    """DevTools gives credential ids in standard base64; browsers and the service in base64url without padding."""
    return standard_base64.rstrip("=").replace("+", "-").replace("/", "_")






def test_add_a_passkey_on_the_page_then_sign_in_with_it_alone(phone, site, user):
    page, authenticators = phone
    phone_authenticator = authenticators.add()
    sign_in_with_password(page, site)
    assert_signed_in_home(page, site)

    add_key(page, site, name="My phone", kind="passkey")
    [key] = Authenticator.objects.filter(user=user)
    assert key.kind == Authenticator.Kind.WEBAUTHN and key.passkey and key.name == "My phone"
    assert RecoveryCode.objects.filter(user=user, used_at=None).count() == 10
    [held] = authenticators.credentials(phone_authenticator)
    assert held["isResidentCredential"] and held["rpId"] == "localhost" and b64url(held["credentialId"]) == \
        key.credential_id

    page.get_by_role("link", name="I have saved them").click()
    page.wait_for_url(f"{site}/accounts/mfa/")
    assert page.locator("li.key").count() == 1
    expect(page.locator("li.key").get_by_role("heading", name="My phone Passkey", level=3)).to_be_visible()
    screenshot(page, "keys")

    # The button: signed out onto the sign-in page, whose autofill request waits (the phone does not answer) ...
    authenticators.answers(phone_authenticator, False)
    with page.expect_request(PASSKEY_OPTIONS):  # the autofill's request is on its way, to be cancelled by the click
        sign_out(page)
    assert browser_sessions(user) == []
    expect(page).to_have_url(f"{site}/accounts/login/")

    held_requests = []

    def phone_answers_again(route):
        """The button's own options request, held until the phone answers: by then the click has cancelled the
        autofill's request, which reached the phone while it did not answer."""
        held_requests.append(route.request.url)
        authenticators.answers(phone_authenticator, True)
        route.continue_()

    page.route(PASSKEY_OPTIONS, phone_answers_again)
    with page.expect_response(PASSKEY_SIGN_IN) as signed_in:
        page.get_by_role("button", name="Sign in with a passkey").click()
    page.unroute(PASSKEY_OPTIONS)
    assert len(held_requests) == 1  # the button's request, the one answered
    assert signed_in.value.status == 302
    assert_signed_in_home(page, site)
    [session] = browser_sessions(user)
    assert session.auth_methods == "hwk mfa" and session.transport == Session.Transport.BROWSER
    key.refresh_from_db()
    assert key.last_used_at is not None and key.sign_count > 0

    # The autofill: signed out onto the sign-in page, whose request the passkey now answers by itself.
    with page.expect_response(PASSKEY_SIGN_IN) as signed_in:
        page.locator("nav.account-nav").get_by_role("button", name="Sign out", exact=True).click()
    assert signed_in.value.request.headers["referer"] == f"{site}/accounts/login/"
    assert_signed_in_home(page, site)
    [again] = browser_sessions(user)
    assert again.pk != session.pk and again.auth_methods == "hwk mfa"


def test_a_security_key_as_the_second_step(phone, site, user):
    page, authenticators = phone
    security_key = authenticators.add()
    sign_in_with_password(page, site)
    assert_signed_in_home(page, site)

    add_key(page, site, name="Blue key", kind="security_key")
    [key] = Authenticator.objects.filter(user=user)
    assert key.kind == Authenticator.Kind.WEBAUTHN and not key.passkey and key.name == "Blue key"
    [held] = authenticators.credentials(security_key)
    assert not held["isResidentCredential"]  # a second factor only: the key need not keep it

    page.get_by_role("link", name="I have saved them").click()
    page.wait_for_url(f"{site}/accounts/mfa/")
    expect(page.locator("li.key").get_by_role("heading", name="Blue key", exact=True, level=3)).to_be_visible()
    sign_out(page)

    sign_in_with_password(page, site)
    page.wait_for_url(f"{site}/accounts/login/verify/")
    expect(page.get_by_role("heading", name="Two-step sign-in", level=1)).to_be_visible()
    assert browser_sessions(user) == []  # the password alone opens nothing
    page.get_by_role("button", name="Use your security key or passkey").click()
    assert_signed_in_home(page, site)
    [session] = browser_sessions(user)
    assert session.auth_methods == "pwd hwk mfa" and session.transport == Session.Transport.BROWSER
    key.refresh_from_db()
    assert key.last_used_at is not None
