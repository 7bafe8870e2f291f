"""Malformed input gets a 4xx with the error envelope, never a 500 or a stack trace (docs/security.md 42).

The endpoints and their body fields are read from the OpenAPI schema, which is generated from the URL
resolver, so endpoints added later are attacked here too without editing this file."""
import io
import json
import uuid

from drf_spectacular.generators import SchemaGenerator
import pytest

from authcore.conf import app_settings
from authcore.errors import ERRORS
from authcore.testing import assert_error, bearer
from sessions_app.tests.helpers import open_session

pytestmark = pytest.mark.django_db


def _body_operations() -> list[tuple[str, str, dict, list[str]]]:
    """(method, path, properties, required) of every /api/auth/ operation that takes a JSON body."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    operations = []
    for path, item in sorted(schema["paths"].items()):
        if not path.startswith("/api/auth/"):
            continue
        for method, operation in item.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if not body:
                continue
            component = components[body["schema"]["$ref"].rsplit("/", 1)[1]]
            operations.append((method, path, component.get("properties", {}), component.get("required", [])))
    return operations


BODY_OPERATIONS = _body_operations()
ACCEPTED_TYPES = {(method, path): set(operation.get("requestBody", {}).get("content", {}))
                  for path, item in SchemaGenerator().get_schema(request=None, public=True)["paths"].items()
                  for method, operation in item.items()}
OPERATION_IDS = [f"{method.upper()} {path}" for method, path, _, _ in BODY_OPERATIONS]


def plausible_value(spec: dict):
    if spec.get("format") == "email":
        return "alice@example.com"
    return "plausible-value-of-20c"[: spec.get("maxLength", 22)]


def plausible_body(properties: dict) -> dict:
    return {name: plausible_value(spec) for name, spec in properties.items()}


class CountingStream(io.BytesIO):
    """A WSGI input that remembers how many bytes the application read from it."""

    bytes_read = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk

    def readline(self, size=-1):
        line = super().readline(size)
        self.bytes_read += len(line)
        return line


@pytest.fixture
def auth(make_user):
    # An account with a password, so that the password fields are asked for, stored without hashing one: these
    # requests stop at their input, nothing checks it.
    user = make_user(password=None)
    type(user).objects.filter(pk=user.pk).update(password="argon2$argon2id$stored-never-checked")
    return bearer(open_session(user).access)


@pytest.fixture
def send(api, auth):
    """Send raw bytes to an operation, authenticated (public endpoints ignore the header)."""

    def send_(method: str, path: str, raw: bytes, content_type: str = "application/json", **extra):
        path = path.replace("{session_id}", str(uuid.uuid4()))
        return api.generic(method.upper(), path, raw, content_type=content_type, **auth, **extra)

    return send_


def assert_envelope(response) -> dict:
    """A 4xx in the documented envelope."""
    assert 400 <= response.status_code < 500, (response.status_code, response.content)
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["code"] in ERRORS and ERRORS[body["code"]].status == response.status_code
    if body["code"] == "invalid":
        assert body["errors"], body
        for error in body["errors"]:
            assert set(error) == {"field", "code", "message"}
    else:
        assert set(body) == {"detail", "code"}
    return body


def test_the_schema_lists_the_core_endpoints():
    assert {"POST /api/auth/login/", "POST /api/auth/refresh/", "POST /api/auth/logout/",
            "POST /api/auth/change-password/", "PATCH /api/auth/me/"} <= set(OPERATION_IDS)


# --- missing fields and wrong types, on every endpoint --------------------------------------------------
@pytest.mark.parametrize(("method", "path", "properties", "required"), BODY_OPERATIONS, ids=OPERATION_IDS)
def test_missing_fields(send, method, path, properties, required):
    if not required:
        pytest.skip("no required fields")
    body = assert_envelope(send(method, path, b"{}"))
    assert body["code"] == "invalid"
    assert {(error["field"], error["code"]) for error in body["errors"]} == {(name, "required") for name in required}


NON_STRING_VALUES = {
    "null": None, "true": True, "empty_list": [], "list": ["x"], "empty_object": {}, "nested": {"a": {"b": [1]}},
}


BODY_FIELDS = [(method, path, properties, field) for method, path, properties, _ in BODY_OPERATIONS
               for field in properties]


@pytest.mark.parametrize("value_id", list(NON_STRING_VALUES))
@pytest.mark.parametrize(("method", "path", "properties", "field"), BODY_FIELDS,
                         ids=[f"{method.upper()} {path} {field}" for method, path, _, field in BODY_FIELDS])
def test_non_string_values_in_any_field(send, method, path, properties, field, value_id):
    if properties[field].get("type") == "object" and value_id == "nested":
        pytest.skip("an object is this field's type (a security key's answer): the flow judges its content")
    payload = {**plausible_body(properties), field: NON_STRING_VALUES[value_id]}
    body = assert_envelope(send(method, path, json.dumps(payload).encode()))
    assert body["code"] == "invalid"
    assert field in {error["field"] for error in body["errors"]}


# Numbers in string fields of the session core. DRF's CharField would quietly turn 123 into "123"; a
# wrongly typed credential must not be processed as if the client had sent text.
CORE_FIELDS = [
    ("post", "/api/auth/refresh/", "refresh"),
    ("post", "/api/auth/logout/", "refresh"),
    ("post", "/api/auth/login/", "email"),
    ("post", "/api/auth/login/", "password"),
    ("post", "/api/auth/change-password/", "current_password"),
    ("post", "/api/auth/change-password/", "new_password"),
    ("patch", "/api/auth/me/", "name"),
]


@pytest.mark.parametrize("number", [0, 123456789012345678901234567890, 1.5])
@pytest.mark.parametrize(("method", "path", "field"), CORE_FIELDS)
def test_numbers_are_not_strings(api, auth, method, path, field, number):
    payload = {"refresh": "x" * 43} if field == "refresh" else {
        "email": "alice@example.com", "password": "plausible password", "current_password": "plausible password",
        "new_password": "another plausible password", "name": "Alice",
    }
    payload[field] = number
    response = getattr(api, method)(path, payload, **auth)
    body = assert_error(response, 400, "invalid")
    assert {"field": field, "code": "invalid"} in [{"field": e["field"], "code": e["code"]} for e in body["errors"]]


# --- bodies that are not a JSON object ---------------------------------------------------------------
NOT_AN_OBJECT = {"array": b"[]", "array_of_objects": b'[{"refresh": "x"}]', "string": b'"text"', "number": b"42",
                 "null": b"null", "boolean": b"true"}


@pytest.mark.parametrize("raw_id", list(NOT_AN_OBJECT))
@pytest.mark.parametrize(("method", "path", "properties", "required"), BODY_OPERATIONS, ids=OPERATION_IDS)
def test_json_that_is_not_an_object(send, method, path, properties, required, raw_id):
    assert assert_envelope(send(method, path, NOT_AN_OBJECT[raw_id]))["code"] == "invalid"


MALFORMED = {
    "truncated": b'{"refresh": ',
    "not_json": b"refresh=abc",
    "invalid_utf8": b'{"refresh": "\xff\xfe"}',
    "nan": b'{"refresh": NaN}',
    "infinity": b'{"refresh": Infinity}',
    "trailing_garbage": b'{"refresh": "x"} trailing',
    "deeply_nested_arrays": b"[" * 20000,
    "deeply_nested_objects": b'{"a":' * 10000,
}


@pytest.mark.parametrize("raw_id", list(MALFORMED))
@pytest.mark.parametrize(("method", "path", "properties", "required"), BODY_OPERATIONS, ids=OPERATION_IDS)
def test_malformed_json(send, method, path, properties, required, raw_id):
    assert len(MALFORMED[raw_id]) <= app_settings.MAX_JSON_BODY_BYTES
    assert assert_envelope(send(method, path, MALFORMED[raw_id]))["code"] == "parse_error"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=xyz", "application/xml"])
@pytest.mark.parametrize(("method", "path", "properties", "required"), BODY_OPERATIONS, ids=OPERATION_IDS)
def test_wrong_content_type_is_415(send, method, path, properties, required, content_type):
    if content_type.split(";")[0] in ACCEPTED_TYPES[(method, path)]:
        pytest.skip("this operation takes that type too (introspection: RFC 7662 bodies are form-encoded)")
    raw = json.dumps(plausible_body(properties)).encode()
    assert_error(send(method, path, raw, content_type=content_type), 415, "unsupported_media_type")


# --- body size ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "path", "properties", "required"), BODY_OPERATIONS, ids=OPERATION_IDS)
def test_body_over_64_kib_is_413(send, method, path, properties, required):
    raw = json.dumps({**plausible_body(properties), "padding": "x" * (64 * 1024)}).encode()
    assert_error(send(method, path, raw), 413, "request_too_large")


def test_body_at_the_limit_is_parsed(send):
    start = b'{"refresh": "unknown", "padding": "'
    raw = start + b"x" * (app_settings.MAX_JSON_BODY_BYTES - len(start) - 2) + b'"}'
    assert len(raw) == app_settings.MAX_JSON_BODY_BYTES
    assert_error(send("post", "/api/auth/refresh/", raw), 401, "token_not_valid")


def test_limit_is_configurable(send, settings):
    settings.AUTHCORE = {**settings.AUTHCORE, "MAX_JSON_BODY_BYTES": 100}
    assert_error(send("post", "/api/auth/refresh/", json.dumps({"refresh": "y" * 101}).encode()), 413,
                 "request_too_large")


def test_declared_length_over_the_limit_is_refused_without_reading(send):
    stream = CountingStream(b'{"refresh": "unknown"}')
    response = send("post", "/api/auth/refresh/", b"", CONTENT_LENGTH=str(10 * 1024 * 1024), **{"wsgi.input": stream})
    assert_error(response, 413, "request_too_large")
    assert stream.bytes_read == 0


def test_a_multi_megabyte_body_is_refused_without_reading(send):
    # Past Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB), which must not turn into a 500 either.
    raw = b'{"refresh": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    stream = CountingStream(raw)
    response = send("post", "/api/auth/refresh/", b"", CONTENT_LENGTH=str(len(raw)), **{"wsgi.input": stream})
    assert_error(response, 413, "request_too_large")
    assert stream.bytes_read == 0


def test_chunked_body_without_content_length_is_never_read(send):
    stream = CountingStream(b'{"refresh": "' + b"x" * (1024 * 1024) + b'"}')
    response = send("post", "/api/auth/refresh/", b"", HTTP_TRANSFER_ENCODING="chunked", **{"wsgi.input": stream})
    # Django exposes no bytes of a body without Content-Length, so nothing is read into memory: the request
    # is answered as one without a body.
    body = assert_envelope(response)
    assert body["code"] == "invalid"
    assert stream.bytes_read == 0


@pytest.mark.parametrize("declared", ["abc", "-1", "1e3"])
def test_nonsense_content_length(send, declared):
    response = send("post", "/api/auth/refresh/", b"", CONTENT_LENGTH=declared,
                    **{"wsgi.input": CountingStream(b'{"refresh": "x"}')})
    assert_envelope(response)


# --- refresh tokens, ids, paths, methods ----------------------------------------------------------------
@pytest.mark.parametrize("path", ["/api/auth/refresh/", "/api/auth/logout/"])
def test_overlong_refresh_token_is_400(api, path):
    body = assert_error(api.post(path, {"refresh": "x" * 129}), 400, "invalid")
    assert body["errors"][0]["field"] == "refresh" and body["errors"][0]["code"] == "max_length"


@pytest.mark.parametrize("raw", ["", " ", "garbage", "x" * 128, "\u00fc" * 43])
def test_garbage_refresh_tokens(api, raw):
    response = api.post("/api/auth/refresh/", {"refresh": raw})
    assert response.status_code in (400, 401)
    assert_envelope(response)


@pytest.mark.parametrize("path", ["/api/nope/", "/api/auth/nope/", "/api/auth/sessions/a/b/", "/api/nope"])
@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_unknown_api_paths_are_404_json(api, settings, path, method):
    settings.DEBUG = False
    assert_error(getattr(api, method)(path), 404, "not_found")


METHOD_NOT_ALLOWED = [
    ("get", "/api/auth/login/"), ("put", "/api/auth/login/"), ("get", "/api/auth/refresh/"),
    ("get", "/api/auth/logout/"), ("get", "/api/auth/logout-all/"), ("put", "/api/auth/me/"),
    ("delete", "/api/auth/me/"), ("post", "/api/auth/me/"), ("get", "/api/auth/change-password/"),
    ("post", "/api/auth/sessions/"), ("delete", "/api/auth/sessions/"),
    ("get", "/api/auth/sessions/{session_id}/"), ("post", "/api/auth/sessions/{session_id}/"),
]


@pytest.mark.parametrize(("method", "path"), METHOD_NOT_ALLOWED)
def test_wrong_method_is_405(send, method, path):
    assert_error(send(method, path, b""), 405, "method_not_allowed")


def test_unacceptable_response_format_is_406(api, auth):
    assert_error(api.get("/api/auth/me/", HTTP_ACCEPT="application/xml", **auth), 406, "not_acceptable")


@pytest.mark.parametrize("payload", [
    {"email": "a\ud800@example.com", "password": "plausible password"},
    {"email": "alice@example.com", "password": "bad\ud800password!"},
    {"email": "alice@exam\x00ple.com", "password": "plausible password"},
    {"email": "alice@example.com", "password": "nul\x00in the password"},
    {"email": "x" * 5000 + "@example.com", "password": "plausible password"},
])
def test_hostile_strings_at_login(api, payload):
    raw = json.dumps(payload).encode()  # \ud800 is sent as a lone-surrogate escape, as any JSON client can
    assert_envelope(api.generic("POST", "/api/auth/login/", raw, content_type="application/json"))


@pytest.mark.parametrize("raw", ['{"refresh": "\\ud800"}', '{"refresh": "\\u0000"}', '{"refresh": "a\\nb"}'])
def test_hostile_strings_as_refresh_tokens(api, raw):
    assert_envelope(api.generic("POST", "/api/auth/refresh/", raw.encode(), content_type="application/json"))


def test_djangos_own_body_cap_is_413_not_500():
    """A host project's view that reads request.body (e.g. with a form parser) past
    DATA_UPLOAD_MAX_MEMORY_SIZE goes through the same handler."""
    from django.core.exceptions import RequestDataTooBig

    from authcore.api.errors import api_exception_handler

    response = api_exception_handler(RequestDataTooBig("too big"), {})
    assert response.status_code == 413
    assert response.data == {"detail": ERRORS["request_too_large"].message, "code": "request_too_large"}
