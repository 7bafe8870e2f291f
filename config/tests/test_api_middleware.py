"""The JSON API goes past the middleware only pages need (config.middleware.SkippedByTheAPI): sessions, Django's
authentication and the pages' sign-in, messages, static files. Pages, and the API's one HTML page (its
documentation), still go through all of them; what protects the API stays on its answers, and an HTML answer under
/api/ still gets its Content-Security-Policy."""
from django.contrib.auth import middleware as auth_middleware
from django.contrib.messages import middleware as messages_middleware
from django.contrib.sessions import middleware as sessions_middleware
from django.http import HttpResponse
import pytest
from whitenoise.middleware import WhiteNoiseMiddleware

from sessions_app import browser
from sessions_app.tests.helpers import me, open_session

pytestmark = pytest.mark.django_db

PAGE_ONLY = {
    "sessions": (sessions_middleware.SessionMiddleware, "process_request"),
    "authentication": (auth_middleware.AuthenticationMiddleware, "process_request"),
    "messages": (messages_middleware.MessageMiddleware, "process_request"),
    "the pages' sign-in": (browser.BrowserSessionMiddleware, "__call__"),
    "static files": (WhiteNoiseMiddleware, "__call__"),
}


@pytest.fixture
def ran(monkeypatch) -> set:
    """The page-only middleware that ran (spies: the real methods still run)."""
    names = set()
    for name, (cls, method) in PAGE_ONLY.items():
        real = getattr(cls, method)

        def spy(self, *args, _real=real, _name=name, **kwargs):
            names.add(_name)
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(cls, method, spy)
    return names


def test_the_api_goes_past_the_page_middleware(client, make_user, ran):
    response = me(client, open_session(make_user(password=None)).access)
    assert response.status_code == 200
    assert ran == set()
    assert "Cookie" not in response["Vary"] and not response.cookies  # no session was even looked at


def test_pages_and_the_api_documentation_go_through_all_of_it(client, ran):
    assert client.get("/accounts/login/").status_code == 200
    assert ran == set(PAGE_ONLY)
    ran.clear()
    response = client.get("/api/docs/")
    assert response.status_code == 200 and "Content-Security-Policy" in response
    assert ran == set(PAGE_ONLY)


def test_what_protects_the_api_stays_on_its_answers(client):
    response = client.get("/api/auth/me/", HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 401
    for header in ("X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy", "Cross-Origin-Opener-Policy",
                   "X-Request-ID", "Content-Language", "Cache-Control"):
        assert header in response, header
    assert "Access-Control-Allow-Origin" not in response  # CORS still decides
    # CSRF stays in front of the API too: the refresh cookie's check (sessions_app/tests/test_cookie_transport.py).



def test_an_html_answer_under_the_api_prefix_keeps_its_csp(client, settings):
    """Mounted under a prefix (SCRIPT_NAME), an unknown /api/ address is still answered as the API (JSON), and any
    HTML answer there still gets the documents' policy."""
    response = client.get("/api/auth/nope/", SCRIPT_NAME="/auth")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    docs = client.get("/api/docs/", SCRIPT_NAME="/auth")
    assert docs.status_code == 200 and "Content-Security-Policy" in docs


@pytest.mark.parametrize("path, has_nonce", [("/api/auth/anything/", False), ("/accounts/login/", True)])
def test_only_pages_get_a_csp_nonce_and_every_html_answer_its_policy(rf, path, has_nonce):
    """The JSON API makes no nonce (config.middleware.DocumentCSPMiddleware); an HTML answer under /api/ (a host
    project's view, say) still carries the policy, with no nonce in it, so an inline script there stays refused."""
    from config.middleware import DocumentCSPMiddleware

    seen = {}

    def view(request):
        seen["nonce"] = hasattr(request, "csp_nonce")
        return HttpResponse("<p>hello</p>", content_type="text/html; charset=utf-8")

    response = DocumentCSPMiddleware(view)(rf.get(path))
    assert seen["nonce"] is has_nonce
    policy = response["Content-Security-Policy"]
    assert "script-src" in policy and "'nonce-" not in policy


def test_a_project_that_lets_the_api_by_its_sessions_only_still_answers(client, make_user, settings):
    """A host project that uses the skipping session middleware with the apps' own browser-session middleware: an
    API request has no session, and the browser check signs nobody in instead of failing."""
    settings.MIDDLEWARE = [m.replace("config.middleware.BrowserSessionMiddleware",
                                     "sessions_app.browser.BrowserSessionMiddleware") for m in settings.MIDDLEWARE]
    assert me(client, open_session(make_user(password=None)).access).status_code == 200
