"""What the browser tests of two-step sign-in share: a phone's width, signing in and out on the pages, confirming
the password, screenshots with the no-overflow check, and the browser sessions of a user."""
from pathlib import Path

from django.conf import settings as django_settings
from playwright.sync_api import expect

from authcore.testing import PASSWORD
from sessions_app.models import Session

ARTIFACTS = Path(django_settings.BASE_DIR) / "test-artifacts"
PHONE = {"width": 360, "height": 800}
NO_OVERFLOW = "document.documentElement.scrollWidth <= window.innerWidth"


def sign_in_with_password(page, site: str, email: str = "alice@example.com", password: str = PASSWORD):
    page.goto(f"{site}/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def assert_signed_in_home(page, site: str):
    page.wait_for_url(f"{site}/accounts/")
    expect(page.get_by_role("heading", name="Your account", level=1)).to_be_visible()


def confirm_password(page):
    """On the confirmation page (a change of the factors asks for it even right after signing in)."""
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()


def sign_out(page):
    page.locator("nav.account-nav").get_by_role("button", name="Sign out", exact=True).click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()


def screenshot(page, name: str):
    """At a phone's width: nothing wider than the screen, then the picture."""
    assert page.evaluate(NO_OVERFLOW), (
        f"{page.url} overflows at {PHONE['width']}px: scrollWidth "
        f"{page.evaluate('document.documentElement.scrollWidth')}")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"mfa-{name}-{PHONE['width']}.png"), full_page=True)


def browser_sessions(user) -> list[Session]:
    return list(Session.objects.filter(user=user, transport=Session.Transport.BROWSER, revoked_at=None))


# Chromium's virtual authenticators (DevTools' WebAuthn domain), in place of a key: real key pairs, real assertions,
# the user verified without a prompt.
AUTHENTICATOR = {"protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
                 "isUserVerified": True, "automaticPresenceSimulation": True}


class VirtualAuthenticators:
    """Chromium's WebAuthn DevTools domain for one page: virtual authenticators and the credentials they hold."""

    def __init__(self, devtools):
        self.devtools = devtools
        devtools.send("WebAuthn.enable")

    def add(self, **options) -> str:
        return self.devtools.send("WebAuthn.addVirtualAuthenticator",
                                  {"options": {**AUTHENTICATOR, **options}})["authenticatorId"]

    def credentials(self, authenticator: str) -> list[dict]:
        return self.devtools.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]

    def answers(self, authenticator: str, enabled: bool):
        """Whether the authenticator answers by itself (user presence simulated) or leaves requests waiting."""
        self.devtools.send("WebAuthn.setAutomaticPresenceSimulation",
                           {"authenticatorId": authenticator, "enabled": enabled})
