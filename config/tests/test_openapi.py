"""The OpenAPI schema is valid and complete: every /api/auth/ URL pattern (read from the resolver, so new
endpoints are covered without editing this test) and every error code of the one error table."""
import json
import re
from unittest.mock import ANY

from django.urls import URLPattern, URLResolver, get_resolver
import hypothesis
from hypothesis import strategies
from openapi_spec_validator import validate
import pytest

from accounts.forms import EMAIL_PATTERN
from authcore.errors import ERRORS

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
            "/api/auth/sessions/{session_id}/", "/api/auth/change-email/", "/api/auth/change-email/confirm/",
            "/api/auth/delete-account/", "/api/auth/export/", "/api/auth/not-me/"} <= set(auth_url_patterns())


@pytest.mark.parametrize("path", auth_url_patterns())
def test_every_auth_url_is_documented(schema, path):
    assert path in schema["paths"], f"{path} is routed but missing from the OpenAPI schema"
    for method, operation in schema["paths"][path].items():
        assert operation.get("responses"), (method, path)


def test_error_code_enum_is_exactly_the_error_table(schema):
    assert set(schema["components"]["schemas"]["ErrorCodeEnum"]["enum"]) == set(ERRORS)


# No /api/auth/ endpoint answers 403 permission_denied (it is in the table for APIs a host project adds
# with DRF permission classes, through the same exception handler); it is still in ErrorCodeEnum. No endpoint
# answers needs_reconnect either: connections.get_valid_access_token raises it to application code (no API
# hands out a provider's token), which may answer its own clients with it.
# second_factor_required: only a host project's endpoints that ask for MFA answer it
# (sessions_app.permissions.MultiFactorAuthenticated).
NOT_ANSWERED_BY_AUTH_ENDPOINTS = {"permission_denied", "needs_reconnect", "second_factor_required"}


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


# --- request bodies state the rules the server enforces ----------------------------------------------------
def request_body_properties(schema: dict) -> dict[str, dict]:
    """{"<operation> <field>": property schema} for every field of every JSON request body."""
    components = schema["components"]["schemas"]
    properties = {}
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body:
                component = components[body["$ref"].rpartition("/")[2]]
                for name, field in component.get("properties", {}).items():
                    properties[f"{method.upper()} {path} {name}"] = field
    return properties


def body_field(schema: dict, operation: str, name: str) -> dict:
    return request_body_properties(schema)[f"{operation} {name}"]


def test_every_string_input_states_the_refusal_of_nul_and_unpaired_surrogates(schema):
    """DRF refuses NUL and lone surrogates in every string field; the schema says so, by pattern where a
    pattern can (NUL, and anything outside an ASCII-only pattern), else in words."""
    string_fields = {key: field for key, field in request_body_properties(schema).items()
                     if field.get("type") == "string"}
    assert len(string_fields) >= 12
    for key, field in string_fields.items():
        assert "pattern" in field, key
        assert re.search(field["pattern"], "text\x00") is None, key
        assert re.search(field["pattern"], "\ud800") is None or "unpaired surrogate" in field["description"], key


def test_new_password_length_bounds_come_from_the_password_validators(schema):
    for operation, name in [("POST /api/auth/register/", "password"),
                            ("POST /api/auth/change-password/", "new_password"),
                            ("POST /api/auth/password-reset/confirm/", "new_password")]:
        field = body_field(schema, operation, name)
        assert (field["minLength"], field["maxLength"]) == (15, 1024), (operation, name)


def test_presented_passwords_are_only_capped(schema):
    """Login and the current password of a change take any non-empty password up to the cap: an account may
    hold one shorter than today's minimum."""
    for operation, name in [("POST /api/auth/login/", "password"),
                            ("POST /api/auth/change-password/", "current_password")]:
        field = body_field(schema, operation, name)
        assert (field["minLength"], field["maxLength"]) == (1, 1024), (operation, name)


def test_password_bounds_follow_changed_settings(api, settings):
    settings.AUTH_PASSWORD_VALIDATORS = [
        {**validator, "OPTIONS": {"min_length": 20}} if validator["NAME"].endswith("MinimumLengthValidator")
        else validator
        for validator in settings.AUTH_PASSWORD_VALIDATORS
    ]
    settings.ACCOUNTS = {**settings.ACCOUNTS, "PASSWORD_MAX_LENGTH": 256}
    schema = api.get("/api/schema/?format=json").json()

    register = body_field(schema, "POST /api/auth/register/", "password")
    login = body_field(schema, "POST /api/auth/login/", "password")
    assert (register["minLength"], register["maxLength"]) == (20, 256)
    assert (login["minLength"], login["maxLength"]) == (1, 256)
    too_short = api.post("/api/auth/register/", {"email": "new@example.com", "password": "x" * 19})
    assert "password_too_short" in {error["code"] for error in too_short.json()["errors"]}
    too_long = api.post("/api/auth/login/", {"email": "new@example.com", "password": "x" * 257})
    assert [error["code"] for error in too_long.json()["errors"]] == ["password_too_long"]


def test_link_token_pattern_is_the_shape_of_issued_tokens_and_is_enforced(schema, api, make_user):
    from accounts.tokens import email_verification_tokens, make_link_token, password_reset_tokens

    user = make_user(verified=False)
    for operation in ("POST /api/auth/verify-email/", "POST /api/auth/password-reset/confirm/"):
        field = body_field(schema, operation, "token")
        for generator in (email_verification_tokens, password_reset_tokens):
            token = make_link_token(generator, user)
            assert re.search(field["pattern"], token) and len(token) <= field["maxLength"], (operation, token)
    for malformed in ("not-a-token", ".1-ab", "abc.1-AB", "abc.1-ab-cd", "abc.1_ab", "abc.12345678901234-ab"):
        assert re.search(body_field(schema, "POST /api/auth/verify-email/", "token")["pattern"], malformed) is None
        response = api.post("/api/auth/verify-email/", {"token": malformed})
        assert (response.status_code, response.json()["errors"][0]) == (400, {
            "field": "token", "code": "invalid", "message": "Enter the token exactly as it appears in the link."})


def test_every_email_input_declares_the_promised_address_pattern(schema):
    email_fields = {key: field for key, field in request_body_properties(schema).items() if key.endswith(" email")}
    assert len(email_fields) == 4
    assert all(field["pattern"] == EMAIL_PATTERN for field in email_fields.values())


@pytest.mark.parametrize("address", [
    "a@ab--cd.com",  # IDNA refuses "--" in the 3rd and 4th place
    "a@-ab.com", "a@ab-.com", "a@" + "b" * 64 + ".com",  # hyphen at an end, a label over 63 characters
    "a@b.c0m", "a@b.com.", "a@[127.0.0.1]", "a@localhost", "a..b@example.com", '"a b"@example.com',
])
def test_the_email_pattern_leaves_out_what_the_server_may_refuse(address):
    assert re.search(EMAIL_PATTERN, address) is None


# The longest and oddest addresses the pattern allows, then Hypothesis's own (which run short).
@hypothesis.example("a@" + "a-" * 31 + "a.com")  # a hyphenated label of 63 characters
@hypothesis.example("a@" + "b" * 32 + "." + "c" * 63)  # the longest unhyphenated label, a 63-letter TLD
@hypothesis.example("!#$%&'*+/=?^_`{|}~-.Z9@Ex-Ample.ORG")
@hypothesis.example("l" * 64 + "@" + ("d" * 32 + ".") * 5 + "com")
@hypothesis.settings(max_examples=100, derandomize=True, deadline=None, database=None)
@hypothesis.given(address=strategies.from_regex(EMAIL_PATTERN, fullmatch=True).filter(lambda text: len(text) <= 254))
def test_every_address_of_the_email_pattern_is_accepted(address):
    """The pattern promises acceptance: Django's EmailValidator (the field) and the canonical form that
    registration stores must both take every address it matches."""
    assert re.search(EMAIL_PATTERN, address)
    from accounts.addresses import canonical_email as normalize_email
    from accounts.forms import EmailAddressField

    assert EmailAddressField().clean(address) == address
    normalize_email(address)


def test_the_field_error_codes_of_nul_and_surrogate_refusals_are_documented(schema, api):
    documented = schema["components"]["schemas"]["FieldError"]["properties"]["code"]["description"]
    for text, code in [("pass\x00word", "null_characters_not_allowed"),
                       ("pass\ud800word", "surrogate_characters_not_allowed")]:
        body = json.dumps({"email": "a@example.com", "password": text})  # json escapes the lone surrogate
        response = api.generic("POST", "/api/auth/login/", body, content_type="application/json")
        assert response.json()["errors"] == [{"field": "password", "code": code, "message": ANY}]
        assert code in documented
