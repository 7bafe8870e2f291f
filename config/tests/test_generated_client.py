"""The OpenAPI schema is good enough to generate a client from: openapi-python-client generates one without
a warning, with plain model names, and the generated code logs in, reads the user and refreshes against
the live server over real HTTP."""
import importlib
import os
from pathlib import Path
import subprocess
import sys

import pytest

from authcore.testing import PASSWORD

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # The generated code hands httpx the refresh cookie parameter per request, which httpx frowns upon.
    pytest.mark.filterwarnings("ignore:Setting per-request cookies:DeprecationWarning"),
]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    from django.test import Client

    schema = Client().get("/api/schema/", {"format": "json"}).content
    directory = tmp_path_factory.mktemp("client")
    (directory / "schema.json").write_bytes(schema)
    bin_dir = str(Path(sys.executable).parent)
    result = subprocess.run(
        [str(Path(bin_dir) / "openapi-python-client"), "generate", "--path", "schema.json", "--meta", "none",
         "--output-path", "authclient"],
        cwd=directory, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(directory))
    yield directory / "authclient", result.stdout + result.stderr
    sys.path.remove(str(directory))


def test_the_client_is_generated_without_warnings_or_doubled_names(generated):
    package, output = generated
    assert "warning" not in output.lower(), output
    models = sorted(path.stem for path in (package / "models").glob("*.py") if path.stem != "__init__")
    assert "login_request" in models and "login_response" in models and "token_pair" in models
    assert not [name for name in models if "request_request" in name or "response_response" in name]
    # Public operations take a plain client; signed-in ones an authenticated client.
    login_module = (package / "api" / "account" / "auth_login_create.py").read_text()
    me_module = (package / "api" / "account" / "auth_me_retrieve.py").read_text()
    assert "client: AuthenticatedClient | Client" in login_module
    assert "client: AuthenticatedClient," in me_module


def test_the_generated_client_talks_to_the_service(generated, live_server, user):
    authclient = importlib.import_module("authclient")
    login = importlib.import_module("authclient.api.account.auth_login_create")
    me = importlib.import_module("authclient.api.account.auth_me_retrieve")
    refresh = importlib.import_module("authclient.api.sessions.auth_refresh_create")
    models = importlib.import_module("authclient.models")

    anonymous = authclient.Client(base_url=live_server.url)
    pair = login.sync(client=anonymous, body=models.LoginRequest(email="alice@example.com", password=PASSWORD))
    assert isinstance(pair, models.LoginResponse), pair

    signed_in = authclient.AuthenticatedClient(base_url=live_server.url, token=pair.access)
    assert me.sync(client=signed_in).email == "alice@example.com"

    rotated = refresh.sync(client=anonymous, body=models.RefreshRequest(refresh=pair.refresh))
    assert isinstance(rotated, models.TokenPair) and rotated.refresh != pair.refresh
    again = refresh.sync(client=anonymous, body=models.RefreshRequest(refresh=pair.refresh))
    assert isinstance(again, models.Error) and again.code == models.ErrorCodeEnum.REFRESH_TOKEN_REUSED
