"""The cookie transport proven in headless Chromium: the example SPA (examples/spa, the code
docs/how-to/spa.md shows) on other origins of the same site talks to the live server. The refresh token stays
out of the page's reach, refresh works across a reload, logout ends it; an origin not on the allow-list cannot
refresh, and form posts from elsewhere are refused before the token is spent."""
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
import threading

import pytest

from authcore.testing import PASSWORD
from sessions_app.models import RefreshToken, Session

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
SPA = ROOT / "examples" / "spa"
COOKIE = "__Secure-refresh"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture
def static_server():
    """Serves a directory on another loopback port: another origin. Returns a function (directory, host)."""
    servers = []

    def start(directory: Path, host: str = "localhost") -> str:
        server = ThreadingHTTPServer((host, 0), partial(QuietHandler, directory=str(directory)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://{host}:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def apps(live_server, static_server, settings, user):
    """The auth service (the live server), an allowed app origin and another origin of the same site."""
    allowed, other = static_server(SPA), static_server(SPA)
    settings.CORS_ALLOWED_ORIGINS = [allowed]  # and nothing in CSRF_TRUSTED_ORIGINS
    auth = f"{live_server.url}/api/auth/"
    return {"auth": auth, "allowed": f"{allowed}/index.html?auth={auth}", "other": f"{other}/index.html?auth={auth}"}


def refresh_cookie(page) -> str | None:
    return next((cookie["value"] for cookie in page.context.cookies() if cookie["name"] == COOKIE), None)


def test_the_spa_logs_in_refreshes_survives_a_reload_and_logs_out(page, apps):
    page.goto(apps["allowed"])
    page.evaluate(f"login('alice@example.com', {PASSWORD!r})")

    token = refresh_cookie(page)
    assert token, page.context.cookies()
    cookie = next(cookie for cookie in page.context.cookies() if cookie["name"] == COOKIE)
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/api/auth/cookie/"
    # The page's scripts cannot see it; Django's csrftoken (not secret from the page) they can.
    visible = page.evaluate("document.cookie")
    assert token not in visible and COOKIE not in visible
    assert page.evaluate("me()")["email"] == "alice@example.com"

    assert page.evaluate("refresh()") is True
    assert refresh_cookie(page) not in (None, token)

    page.reload()  # memory is gone: no access token, no CSRF token; the cookie carries the session
    assert page.evaluate("access") is None
    page.evaluate("refresh()")
    assert page.evaluate("me()")["email"] == "alice@example.com"
    old_access = page.evaluate("access")

    page.evaluate("logout()")

    assert refresh_cookie(page) is None
    assert Session.objects.get().revoked_at is not None
    status = page.evaluate("""access => fetch(AUTH + 'me/', {headers: {Authorization: `Bearer ${access}`}})
                              .then(response => response.status)""", old_access)
    assert status == 401
    # No cookie any more: the service answers 401 `no_session_cookie`, which the app takes as signed out.
    assert page.evaluate("refresh()") is False
    assert page.evaluate("access") is None


def test_an_origin_not_on_the_allow_list_cannot_refresh(page, apps):
    page.goto(apps["allowed"])
    page.evaluate(f"login('alice@example.com', {PASSWORD!r})")
    token = refresh_cookie(page)

    page.goto(apps["other"])  # same site, so the browser would attach the cookie; CORS stops the request
    with pytest.raises(Exception, match="Failed to fetch"):
        page.evaluate("refresh()")

    assert refresh_cookie(page) == token
    assert RefreshToken.objects.count() == 1 and Session.objects.get().revoked_at is None
    page.goto(apps["allowed"])
    page.evaluate("refresh()")  # the real app still can
    assert RefreshToken.objects.count() == 2


@pytest.mark.parametrize("enctype", ["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"])
def test_a_form_post_from_another_page_spends_nothing(page, apps, static_server, tmp_path, enctype):
    page.goto(apps["allowed"])
    page.evaluate(f"login('alice@example.com', {PASSWORD!r})")
    token = refresh_cookie(page)
    attack = tmp_path / "attack.html"
    attack.write_text(f"""<!doctype html><form method="post" action="{apps['auth']}cookie/refresh/" enctype="{enctype}">
        <input name="refresh" value="x"></form><script>document.forms[0].submit()</script>""")

    for host in ("localhost", "127.0.0.1"):  # another origin of the same site; another site
        page.goto(f"{static_server(tmp_path, host)}/attack.html")
        page.wait_for_load_state()
        assert "/api/auth/cookie/refresh/" in page.url
        body = page.locator("body").inner_text()
        # Same site: the cookie came along and the CSRF check refused it. Another site: SameSite=Strict
        # kept the cookie home, and a form body is no JSON.
        assert ('"csrf_failed"' if host == "localhost" else '"unsupported_media_type"') in body, body

    assert refresh_cookie(page) == token
    assert RefreshToken.objects.count() == 1 and Session.objects.get().revoked_at is None


def test_the_example_app_runs_the_code_the_guide_shows():
    guide = (ROOT / "docs" / "how-to" / "spa.md").read_text()
    shown = guide.split("The whole session handling of a single-page app", 1)[1].split("```js\n", 1)[1]
    shown = shown.split("```", 1)[0]
    example = (SPA / "auth.js").read_text()
    assert example.endswith(shown)
