"""Hostile input against every operation of the service's own OpenAPI schema (schemathesis, positive and
negative data, fixed seed): with and without a valid access token, no answer is a 5xx, and every answer
is one the schema documents, with the body and content type it declares (the error envelope included).
Companion to test_schema_conformance.py, which proves that valid requests are accepted."""
from hypothesis import HealthCheck, settings
import pytest
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from sessions_app.tests.helpers import open_session

from .test_schema_conformance import load_schema

schema = load_schema(mode="all", seed=20241129, examples=15)


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@pytest.mark.parametrize("signed_in", [False, True])
def test_no_5xx_and_every_answer_is_documented(case, account, signed_in):
    if signed_in:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {open_session(account).access}"}
    case.call_and_validate(checks=[not_a_server_error, status_code_conformance, response_schema_conformance,
                                   content_type_conformance])
