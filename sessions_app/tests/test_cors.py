"""Cross-origin browser apps: only origins on CORS_ALLOWED_ORIGINS may call the API with credentials, and
nothing is allowed by default."""
from django.test import override_settings
import pytest

pytestmark = pytest.mark.django_db

APP = "https://app.example.com"


def preflight(client, origin):
    return client.options("/api/auth/refresh/", HTTP_ORIGIN=origin, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
                          HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type, x-csrftoken")


def test_nothing_is_allowed_by_default(client, settings):
    assert settings.CORS_ALLOWED_ORIGINS == []
    response = preflight(client, APP)
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-credentials" not in response.headers


@override_settings(CORS_ALLOWED_ORIGINS=[APP])
def test_a_listed_origin_may_send_credentials_and_the_csrf_header(client):
    response = preflight(client, APP)

    assert response.headers["access-control-allow-origin"] == APP  # never "*" with credentials
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "x-csrftoken" in response.headers["access-control-allow-headers"].lower()
    assert "POST" in response.headers["access-control-allow-methods"]


@override_settings(CORS_ALLOWED_ORIGINS=[APP])
def test_an_origin_not_on_the_list_gets_no_cors_headers(client):
    for origin in ("https://evil.example.com", "https://app.example.com.evil.example", "http://app.example.com"):
        response = preflight(client, origin)
        assert "access-control-allow-origin" not in response.headers, origin
        actual = client.get("/api/auth/csrf/", HTTP_ORIGIN=origin)
        assert "access-control-allow-origin" not in actual.headers, origin


@override_settings(CORS_ALLOWED_ORIGINS=[APP])
def test_a_listed_origin_reads_the_answer_of_an_actual_request(client):
    response = client.get("/api/auth/csrf/", HTTP_ORIGIN=APP)
    assert response.headers["access-control-allow-origin"] == APP
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "DPoP-Nonce" in response.headers["access-control-expose-headers"]
    assert "origin" in response.headers["vary"].lower()


@override_settings(CORS_ALLOWED_ORIGINS=[APP])
def test_a_request_without_origin_gets_no_cors_headers_but_varies_on_origin(client):
    """The short way for requests that are not cross-origin (config.middleware.CorsMiddleware): no CORS header,
    and `Vary: Origin`, so that a cache never hands this answer to a cross-origin request of an allowed app."""
    response = client.get("/api/auth/csrf/")
    assert not [name for name in response.headers if name.lower().startswith("access-control-")]
    assert "origin" in [value.strip().lower() for value in response.headers["vary"].split(",")]
    # Outside the API, CORS does not apply: the answer does not vary on it.
    page = client.get("/accounts/login/")
    assert "origin" not in [value.strip().lower() for value in page.headers.get("vary", "").split(",")]


@override_settings(CORS_ALLOWED_ORIGINS=[APP])
def test_only_cross_origin_requests_take_the_full_middleware(client, monkeypatch):
    """The short way skips django-cors-headers' own work (and the header dictionary it builds) when there is no
    Origin; a request with one, even an origin not allowed, goes through all of it."""
    from corsheaders.middleware import CorsMiddleware

    full, real = [], CorsMiddleware.add_response_headers

    def spy(self, request, response):
        full.append(request.path)
        return real(self, request, response)

    monkeypatch.setattr(CorsMiddleware, "add_response_headers", spy)
    client.get("/api/auth/csrf/")
    assert full == []
    client.get("/api/auth/csrf/", HTTP_ORIGIN="https://evil.example.com")
    client.get("/api/auth/csrf/", HTTP_ORIGIN=APP)
    assert full == ["/api/auth/csrf/", "/api/auth/csrf/"]


@override_settings(CORS_ALLOWED_ORIGINS=[APP])
def test_cors_covers_the_api_only(client):
    response = client.get("/admin/login/", HTTP_ORIGIN=APP)
    assert "access-control-allow-origin" not in response.headers


def test_allowed_origins_are_not_trusted_site_wide(monkeypatch):
    """The settings module keeps CSRF_TRUSTED_ORIGINS to what the operator lists: the CORS allow-list is
    trusted by the refresh cookie's endpoints only (test_cookie_transport.py)."""
    import importlib

    import config.settings as project_settings

    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", f"{APP}, https://other.example.com")
    monkeypatch.setenv("CSRF_TRUSTED_ORIGINS", "https://admin.example.com")
    try:
        reloaded = importlib.reload(project_settings)
        assert reloaded.CORS_ALLOWED_ORIGINS == [APP, "https://other.example.com"]
        assert reloaded.CSRF_TRUSTED_ORIGINS == ["https://admin.example.com"]
    finally:
        monkeypatch.undo()
        importlib.reload(project_settings)


@pytest.mark.parametrize("origin, debug, refused", [
    ("http://app.example.com", False, True), ("https://app.example.com", False, False),
    ("http://localhost:3000", True, False)])
def test_plain_http_app_origins_are_refused_outside_debug(settings, origin, debug, refused):
    from sessions_app.checks import check_session_settings

    settings.CORS_ALLOWED_ORIGINS, settings.DEBUG = [origin], debug
    ids = [error.id for error in check_session_settings()]
    assert ("sessions_app.E017" in ids) is refused
