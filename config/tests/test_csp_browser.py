"""The pages work under the Content-Security-Policy, in headless Chromium against the live server: no
violation is reported on the home page, the account pages, the admin and the API docs, and the docs (whose
script the CSP must let run) show the operations."""
from playwright.sync_api import expect
import pytest

from authcore.testing import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation",
    event => window.__violations.push(`${event.violatedDirective} ${event.blockedURI}`));
"""


@pytest.fixture
def watched(page):
    page.add_init_script(WATCH_VIOLATIONS)
    return page


def violations(page) -> list[str]:
    return page.evaluate("window.__violations")


@pytest.mark.parametrize("path", ["/", "/accounts/register/", "/accounts/password-reset/",
                                  "/accounts/verify-email/resend/"])
def test_public_pages_raise_no_violation(watched, live_server, path):
    response = watched.goto(f"{live_server.url}{path}")
    assert response.ok
    assert response.headers["content-security-policy"]
    # The style sheet is a file, so it applied: a label is a block.
    if path != "/":
        assert watched.evaluate("getComputedStyle(document.querySelector('main label')).display") == "block"
    assert violations(watched) == []


def test_the_admin_works_under_the_policy(watched, live_server, django_user_model, user):
    django_user_model.objects.create_superuser("ops@example.com", PASSWORD)
    watched.goto(f"{live_server.url}/admin/login/")
    watched.fill("#id_username", "ops@example.com")
    watched.fill("#id_password", PASSWORD)
    watched.click("input[type=submit]")
    watched.wait_for_url(f"{live_server.url}/admin/")

    for path in ["/admin/", "/admin/accounts/user/", f"/admin/accounts/user/{user.pk}/change/",
                 "/admin/sessions_app/session/"]:
        watched.goto(f"{live_server.url}{path}")
        expect(watched.locator("#content"), path).to_be_visible()
        assert violations(watched) == [], path
    # The admin's own scripts ran: the changelist's select-all checkbox is wired up.
    watched.goto(f"{live_server.url}/admin/accounts/user/")
    watched.check("#action-toggle")
    assert watched.locator("input.action-select").first.is_checked()


def test_the_api_docs_render_under_the_policy(watched, live_server):
    watched.goto(f"{live_server.url}/api/docs/")
    watched.get_by_text("/api/auth/login/").first.wait_for(timeout=15000)
    assert violations(watched) == []


def test_the_signed_in_account_pages_raise_no_violation(watched, live_server, settings, user):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # the live server speaks plain http
    watched.goto(f"{live_server.url}/accounts/login/")
    watched.fill("input[name=email]", "alice@example.com")
    watched.fill("input[name=password]", PASSWORD)
    watched.click("main button[type=submit]")
    watched.wait_for_url(f"{live_server.url}/accounts/")
    for path in ["/accounts/", "/accounts/sessions/", "/accounts/password-change/", "/accounts/change-email/",
                 "/accounts/delete/", "/accounts/confirm-password/", "/connections/"]:
        response = watched.goto(f"{live_server.url}{path}")
        assert response.ok and watched.url == f"{live_server.url}{path}", path
        assert violations(watched) == [], path
