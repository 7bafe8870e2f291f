"""Passkeys only, and a lost phone, end to end in headless Chromium against the live server at a phone's width, with
the pages' own script (accounts/security-keys.js) and Chromium's virtual authenticators in place of the phone.

Alice signs in with her password, adds a passkey on the two-step page (her first factor: the recovery codes appear,
one is kept) and stops using a password, confirming with the passkey (the password alone is no proof for that): the
page says her account has no password, and it has none. Then the phone is lost (its virtual authenticator goes).
Her emailed reset link leads to "Choose a new password", which offers "Add a new passkey" instead; that page makes a
passkey on a new phone, answering her remaining second factor with the kept recovery code. Afterwards every session
of hers has ended, she has two passkeys, the link no longer works, and the new passkey alone signs her in with the
sign-in page's button (see test_passkeys_browser.py for how the button is taken instead of the autofill). A
screenshot of the reset-passkey page goes to test-artifacts/."""
import re

from playwright.sync_api import expect
import pytest

from accounts.tokens import make_link_token, password_reset_tokens
from mfa.models import Authenticator, RecoveryCode

from .browser import assert_signed_in_home, browser_sessions, screenshot, sign_in_with_password
from .test_passkeys_browser import PASSKEY_OPTIONS, PASSKEY_SIGN_IN, add_key

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in_with_the_button(page, site: str, authenticators, authenticator: str):
    """The sign-in page's passkey button: the autofill's request waits (the phone does not answer yet) and the
    button's own request, held until the phone answers again, is the one that signs in."""
    authenticators.answers(authenticator, False)
    with page.expect_request(PASSKEY_OPTIONS):
        page.goto(f"{site}/accounts/login/")

    def phone_answers_again(route):
        authenticators.answers(authenticator, True)
        route.continue_()

    page.route(PASSKEY_OPTIONS, phone_answers_again)
    with page.expect_response(PASSKEY_SIGN_IN) as signed_in:
        page.get_by_role("button", name="Sign in with a passkey").click()
    page.unroute(PASSKEY_OPTIONS)
    assert signed_in.value.status == 302


def test_stop_using_the_password_then_recover_a_lost_passkey_by_email(phone, site, user):
    page, authenticators = phone
    old_phone = authenticators.add()
    sign_in_with_password(page, site)
    assert_signed_in_home(page, site)

    # A passkey, the account's first factor: its recovery codes, one of them kept.
    add_key(page, site, name="Old phone", kind="passkey")
    codes = page.locator("ul.recovery-codes li").all_inner_texts()
    kept = codes[0].strip()
    page.get_by_role("link", name="I have saved them").click()
    page.wait_for_url(f"{site}/accounts/mfa/")

    # Stop using a password: the password confirmed for the key is no proof by a factor, so the passkey confirms.
    page.get_by_role("button", name="Stop using a password").click()
    page.wait_for_url(re.compile(r".*/accounts/confirm-password/\?next=.*factor=1"))
    page.get_by_role("button", name="Confirm with your security key or passkey").click()
    page.wait_for_url(f"{site}/accounts/mfa/")
    page.get_by_role("button", name="Stop using a password").click()
    page.wait_for_url(f"{site}/accounts/mfa/")
    expect(page.get_by_text("Your account has no password: you sign in with your passkeys.")).to_be_visible()
    assert page.get_by_role("button", name="Stop using a password").count() == 0
    user.refresh_from_db()
    assert not user.has_usable_password()
    assert len(browser_sessions(user)) == 1  # this browser, still signed in

    # The phone is lost; the emailed reset link (made now: the password's removal spent any earlier one).
    authenticators.devtools.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": old_phone})
    link = f"{site}/accounts/password-reset/{make_link_token(password_reset_tokens, user)}/"
    page.goto(link)
    expect(page.get_by_role("heading", name="Choose a new password", level=1)).to_be_visible()
    page.get_by_role("link", name="Add a new passkey").click()
    page.wait_for_url(f"{site}/accounts/mfa/reset/passkey/")
    expect(page.get_by_role("heading", name="Add a new passkey", level=1)).to_be_visible()
    new_phone = authenticators.add()
    page.get_by_label("Your code").fill(kept)
    page.get_by_label("Name (optional)").fill("New phone")
    screenshot(page, "reset-passkey")
    page.get_by_role("button", name="Make a new passkey").click()
    page.get_by_role("heading", name="Your new passkey is added", level=1).wait_for()

    assert browser_sessions(user) == []  # every session ended, this browser's too
    passkeys = Authenticator.objects.filter(user=user, kind=Authenticator.Kind.WEBAUTHN, passkey=True)
    assert sorted(passkeys.values_list("name", flat=True)) == ["New phone", "Old phone"]
    [held] = authenticators.credentials(new_phone)
    assert held["isResidentCredential"] and held["rpId"] == "localhost"
    assert RecoveryCode.objects.filter(user=user, used_at__isnull=False).count() == 1  # the kept code, spent
    user.refresh_from_db()
    assert not user.has_usable_password()

    response = page.goto(link)  # the link worked once
    assert response.status == 400
    expect(page.get_by_role("heading", name="This link does not work", level=1)).to_be_visible()
    expect(page.get_by_text("This link is invalid, has already been used, or has expired.")).to_be_visible()

    # The new passkey alone signs in.
    sign_in_with_the_button(page, site, authenticators, new_phone)
    assert_signed_in_home(page, site)
    [session] = browser_sessions(user)
    assert session.auth_methods == "hwk mfa"
    assert passkeys.get(name="New phone").last_used_at is not None
