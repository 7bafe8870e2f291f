"""The hardening headers a browser gets with DEBUG off (the test settings run with DEBUG off): HSTS,
nosniff, no framing (X-Frame-Options and CSP frame-ancestors), a Referrer-Policy, COOP, and a
Content-Security-Policy without inline script or style on every page."""
from django.test import override_settings
import pytest

pytestmark = pytest.mark.django_db

PAGES = ["/", "/accounts/register/", "/accounts/password-reset/", "/admin/login/", "/api/docs/"]


def csp_directives(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in policy.split(";") if part.strip())}


@pytest.mark.parametrize("path", PAGES)
def test_every_page_carries_the_hardening_headers(client, path):
    response = client.get(path, secure=True)

    assert response.status_code == 200
    hsts = response.headers["Strict-Transport-Security"]
    assert int(hsts.split("max-age=")[1].split(";")[0]) >= 365 * 24 * 3600 and "includeSubDomains" in hsts
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    directives = csp_directives(response)
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["default-src"] == ["'none'"]
    assert directives["script-src"] == ["'self'"] and directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"] and directives["base-uri"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]


def test_json_answers_carry_no_store_and_no_framing(client):
    """The CSP is for documents; a JSON answer gets nosniff and the framing ban, and no-store."""
    response = client.post("/api/auth/refresh/", {"refresh": "x" * 43}, content_type="application/json",
                           secure=True)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" not in response.headers


@override_settings(SECURE_HSTS_SECONDS=2 * 365 * 24 * 3600)
def test_the_hsts_lifetime_is_configurable(client):
    assert "max-age=63072000" in client.get("/", secure=True).headers["Strict-Transport-Security"]


def test_no_page_has_inline_script_or_style(client, admin_client):
    for path in PAGES:
        html = client.get(path, secure=True).content.decode()
        assert "<script>" not in html and "<style" not in html and " style=" not in html, path


def test_the_api_docs_load_their_assets_from_here(client):
    html = client.get("/api/docs/", secure=True).content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "https://" not in html


@override_settings(API_DOCS_ENABLED=False)
def test_an_operator_can_turn_the_docs_off(client):
    assert client.get("/api/docs/").status_code == 404
    assert client.get("/api/schema/").status_code == 200
    assert "/api/docs/" not in client.get("/").content.decode()


def test_django_cookies_are_secure_and_samesite(client, django_user_model):
    """The admin's session cookie and the CSRF cookie: Secure outside DEBUG, SameSite=Lax; the session cookie
    HttpOnly. The CSRF cookie is readable by scripts on purpose (same-site apps send it back in a header)."""
    from authcore.testing import PASSWORD

    django_user_model.objects.create_superuser("ops@example.com", PASSWORD)
    client.get("/admin/login/", secure=True)
    response = client.post("/admin/login/", {"username": "ops@example.com", "password": PASSWORD,
                                             "csrfmiddlewaretoken": client.cookies["csrftoken"].value},
                           secure=True, HTTP_REFERER="https://testserver/admin/login/")
    assert response.status_code == 302, response.content
    session = response.cookies["sessionid"]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"
    csrf = client.get("/api/auth/csrf/", secure=True).cookies.get("csrftoken") or client.cookies["csrftoken"]
    assert csrf["secure"] and csrf["samesite"] == "Lax" and not csrf["httponly"]
