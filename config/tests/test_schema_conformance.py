"""Every request that the OpenAPI schema calls valid is accepted by the server: schemathesis generates
schema-valid requests for every operation and sends them to the real WSGI application, in process.

The check is schemathesis's `positive_data_acceptance`, restricted to what a schema can promise: that the
body's shape is accepted. A 400 that depends on the account or on the password policy's lists (a random
token is wrong, a random current password is incorrect, a random password may be a common one) is a
semantic refusal, which no schema can rule out. Expected statuses per operation cannot tell the two apart:
allowing 400 on verify-email, reset-confirm, change-password and register would also allow the 400
`invalid` answers this test exists to catch, so the check instead skips exactly the semantic refusals below
and judges every other answer.
"""
from hypothesis import HealthCheck, settings
import schemathesis
from schemathesis.checks import not_a_server_error, positive_data_acceptance

from config.wsgi import application
from sessions_app.tests.helpers import open_session

# Error codes that refuse a well-formed request for what it means, not for its shape.
SEMANTIC_ERROR_CODES = {"invalid_token", "password_incorrect", "invalid_state", "connection_denied",
                        "connection_failed",
                        # a second factor: a random code is wrong; the factors a random account has (none)
                        "mfa_code_incorrect", "mfa_not_enabled", "totp_not_started", "mfa_method_unavailable",
                        # a security key's answer: a random object is no answer to any challenge
                        "webauthn_invalid",
                        # the random account signs in with no password and has no passkey
                        "password_not_set", "passkey_required", "passkey_reset_unavailable",
                        # a random cursor of the right alphabet names no position in the list of sessions
                        "invalid_cursor"}
# Field errors of the password policy, of registration and of an address change that depend on lists or on
# existing accounts (the caller's own address, for `email_unchanged`).
SEMANTIC_FIELD_ERROR_CODES = {"password_too_common", "password_too_similar", "password_contains_context",
                              "email_taken", "email_unchanged"}

def load_schema(*, mode: str, seed: int, examples: int):
    """The service's own schema, with schemathesis generating `mode` data ("positive", or "all" for
    negative data too) for every operation: a fixed seed and Hypothesis's derandomized mode, so CI
    generates the same requests every run; coverage (boundary values) and fuzzing, no stateful links."""
    config = schemathesis.Config.from_dict({
        "seed": seed,
        "generation": {"mode": mode, "max-examples": examples, "deterministic": True, "database": "none"},
        "phases": {"examples": {"enabled": False}, "stateful": {"enabled": False}},
        "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
    })
    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, config=config)


schema = load_schema(mode="positive", seed=20240601, examples=25)


def semantic_refusal(response) -> bool:
    if response.status_code != 400:
        return False
    body = response.json()
    if body.get("code") in SEMANTIC_ERROR_CODES:
        return True
    field_codes = {error["code"] for error in body.get("errors", [])}
    return body.get("code") == "invalid" and bool(field_codes) and field_codes <= SEMANTIC_FIELD_ERROR_CODES


def credential_missing(response, case) -> bool:
    """Refresh and logout take the refresh token from the body or from the cookie transport's cookie; a
    schema cannot say "one of the two", so it marks both optional, and a request with neither (an empty
    cookie is none) is refused (400, `refresh` required). Only that exact answer to that exact request is
    let through."""
    if case.operation.path not in ("/api/auth/refresh/", "/api/auth/logout/", "/api/auth/cookie/refresh/",
                                   "/api/auth/cookie/logout/") or response.status_code != 400:
        return False
    if isinstance(case.body, dict) and case.body.get("refresh") or any((case.cookies or {}).values()):
        return False  # an empty cookie is no cookie
    errors = response.json().get("errors", [])
    return [(error["field"], error["code"]) for error in errors] == [("refresh", "required")]


def not_exactly_one(response, case) -> bool:
    """A proof in alternative fields (login's second step: `code` or `recovery_code`; reauthenticate: `password`,
    `code` or `recovery_code`) takes exactly one of them; a schema marks each optional and cannot say "one of", so
    a body with none or several non-empty ones is refused with the field code `exactly_one_required`. Only that
    answer to such a body is let through."""
    body = case.body if isinstance(case.body, dict) else {}
    if response.status_code != 400:
        return False
    alternatives = {"/api/auth/login/mfa/": ("code", "recovery_code", "webauthn"),
                    "/api/auth/reauthenticate/": ("password", "code", "recovery_code", "webauthn")
                    }.get(case.operation.path)
    if alternatives is None or sum(bool(body.get(name)) for name in alternatives) == 1:
        return False
    return [(error["field"], error["code"]) for error in response.json().get("errors", [])] == \
        [(None, "exactly_one_required")]


def repeated_form_field(response, case) -> bool:
    """A form body may repeat a name (the schema's extra properties, sent twice): the form parser refuses it
    (RFC 6749 §3.2), which no schema can say."""
    return (case.media_type == "application/x-www-form-urlencoded" and response.status_code == 400
            and response.json().get("code") == "parse_error")


def shape_accepted(ctx, response, case):
    """positive_data_acceptance, except for semantic refusals."""
    if semantic_refusal(response) or credential_missing(response, case) or not_exactly_one(response, case) \
            or repeated_form_field(response, case):
        return None
    return positive_data_acceptance(ctx, response, case)


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_requests_valid_by_the_schema_are_accepted(case, account):
    # A fresh session for every request: logout-all or a password change ends the previous one.
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {open_session(account).access}"}
    response = case.call_and_validate(checks=[shape_accepted, not_a_server_error])
    # positive_data_acceptance takes a 401 as an answer; here it would mean the session above was refused and
    # the body never judged.
    if {"jwtAuth": []} in case.operation.definition.raw.get("security", []):
        assert response.status_code != 401, response.text
