"""The OpenAPI schema is valid and complete: every /api/auth/ URL pattern (read from the resolver, so new
endpoints are covered without editing this test) and every error code of the one error table."""
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from openapi_spec_validator import validate

from sessions_app.errors import ERRORS

pytestmark = pytest.mark.django_db


def auth_url_patterns() -> list[str]:
    """Every URL pattern under api/auth/, as an OpenAPI path ("/api/auth/sessions/{session_id}/")."""
    routes = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                routes.append(prefix + str(pattern.pattern))

    walk(get_resolver().url_patterns, "")
    paths = {"/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route) for route in routes if route.startswith("api/auth/")}
    return sorted(paths)


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/?format=json")
    assert response.status_code == 200, response.content
    return response.json()


def test_schema_is_served_as_json_by_query_or_accept_header(api):
    by_query = api.get("/api/schema/?format=json")
    by_accept = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert by_query["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert by_accept["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert by_query.json()["paths"] == by_accept.json()["paths"]


def test_schema_is_valid_openapi(schema):
    assert schema["openapi"].startswith("3.")
    validate(schema)


def test_the_resolver_walk_finds_the_core_endpoints():
    assert {"/api/auth/login/", "/api/auth/refresh/", "/api/auth/logout/", "/api/auth/logout-all/",
            "/api/auth/me/", "/api/auth/change-password/", "/api/auth/sessions/",
            "/api/auth/sessions/{session_id}/"} <= set(auth_url_patterns())


@pytest.mark.parametrize("path", auth_url_patterns())
def test_every_auth_url_is_documented(schema, path):
    assert path in schema["paths"], f"{path} is routed but missing from the OpenAPI schema"
    for method, operation in schema["paths"][path].items():
        assert operation.get("responses"), (method, path)


def test_error_code_enum_is_exactly_the_error_table(schema):
    assert set(schema["components"]["schemas"]["ErrorCodeEnum"]["enum"]) == set(ERRORS)


# No /api/auth/ endpoint answers 403 permission_denied (it is in the table for APIs a host project adds
# with DRF permission classes, through the same exception handler); it is still in ErrorCodeEnum.
NOT_ANSWERED_BY_AUTH_ENDPOINTS = {"permission_denied"}


def test_every_error_code_is_documented_on_some_operation(schema):
    """Each code in the table is named in the description of at least one documented error response."""
    descriptions = " ".join(
        response.get("description", "")
        for item in schema["paths"].values() for operation in item.values()
        for status, response in operation.get("responses", {}).items() if status[0] in "45"
    )
    undocumented = {code for code in ERRORS if f"`{code}`" not in descriptions}
    assert undocumented == NOT_ANSWERED_BY_AUTH_ENDPOINTS


def test_error_responses_use_the_envelope(schema):
    error_ref = "#/components/schemas/Error"
    envelope = schema["components"]["schemas"]["Error"]
    assert set(envelope["required"]) == {"detail", "code"}
    assert envelope["properties"]["code"]["$ref"] == "#/components/schemas/ErrorCodeEnum"
    for path, item in schema["paths"].items():
        if not path.startswith("/api/auth/"):
            continue
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if status[0] in "45":
                    assert response["content"]["application/json"]["schema"]["$ref"] == error_ref, (
                        method, path, status)


def test_bearer_scheme_is_documented(schema):
    scheme = schema["components"]["securitySchemes"]["jwtAuth"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer" and scheme["bearerFormat"] == "JWT"
    assert {"jwtAuth": []} in schema["paths"]["/api/auth/me/"]["get"]["security"]
