"""Fixtures of the browser tests of security keys and passkeys (test_mfa_browser.py has its own `site` and
`phone`, without WebAuthn)."""
import pytest

from .browser import PHONE, VirtualAuthenticators


@pytest.fixture
def site(live_server, settings):
    # The live server speaks plain http; secure cookies would never come back from the browser. http://localhost
    # is a secure context all the same, so WebAuthn works there, for the relying party "localhost".
    assert live_server.url.startswith("http://localhost:"), live_server.url
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = settings.LANGUAGE_COOKIE_SECURE = False
    settings.ACCOUNTS = {**settings.ACCOUNTS, "SITE_URL": live_server.url}
    settings.MFA = {**settings.MFA, "WEBAUTHN_RP_ID": "localhost", "WEBAUTHN_ORIGINS": [live_server.url]}
    return live_server.url


@pytest.fixture
def phone(browser):
    """A page at a phone's width in a browser of its own, with the WebAuthn domain of its DevTools."""
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    yield page, VirtualAuthenticators(context.new_cdp_session(page))
    context.close()
