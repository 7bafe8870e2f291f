"""An operator ends a session in a real browser (headless Chromium), and the API stops honouring it."""
from pathlib import Path

from django.conf import settings as django_settings
import pytest
from rest_framework.test import APIClient

from accounts.testing import login
from authcore.testing import PASSWORD, bearer
from sessions_app.models import Session

ARTIFACTS = Path(django_settings.BASE_DIR) / "test-artifacts"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_operator_ends_a_session_from_the_sessions_list(live_server, page, make_user, settings):
    # The live server speaks plain http; the production cookie flags would keep the browser from sending
    # the admin's session and CSRF cookies back.
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    make_user("operator@example.com", is_staff=True, is_superuser=True)
    make_user("alice@example.com")
    api = APIClient(REMOTE_ADDR="198.51.100.23", HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64; rv:128.0) "
                    "Gecko/20100101 Firefox/128.0")
    tokens = login(api, "alice@example.com")
    assert api.get("/api/auth/me/", **bearer(tokens["access"])).status_code == 200

    page.set_viewport_size({"width": 1680, "height": 800})  # room for every column in the screenshot
    page.goto(f"{live_server.url}/admin/login/?next=/admin/sessions_app/session/")
    page.fill("#id_username", "operator@example.com")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/sessions_app/session/")
    page.fill("#searchbar", "alice@example.com")
    page.press("#searchbar", "Enter")
    page.wait_for_url("**q=alice*")
    row = page.locator("#result_list tbody tr")
    assert row.count() == 1 and "198.51.100.23" in row.inner_text() and "active" in row.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-sessions-changelist.png"), full_page=True)

    page.check(f"input[name=_selected_action][value='{tokens['session_id']}']")
    page.select_option("select[name=action]", "end_selected_sessions")
    page.click("button[name=index]")

    assert "Ended 1 session." in page.locator("ul.messagelist").inner_text()
    assert "revoked: Ended by an administrator" in page.locator("#result_list tbody tr").inner_text()
    assert Session.objects.get(pk=tokens["session_id"]).revoke_reason == "ended_by_admin"
    assert api.post("/api/auth/refresh/", {"refresh": tokens["refresh"]}).status_code == 401
    assert api.get("/api/auth/me/", **bearer(tokens["access"])).status_code == 401
