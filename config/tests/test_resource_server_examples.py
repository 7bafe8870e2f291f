"""The example resource server (examples/resource_server.py, no Django) against the live service: run twice, as its
own process, once trusting the JWKS alone and once also introspecting. A valid token passes both; once its session
has ended, the JWKS-only one still lets it through (it cannot know; until the token expires) and the introspecting
one refuses it at once; a token of another key, or expired, passes neither."""
import contextlib
from datetime import timedelta
from pathlib import Path
import subprocess
import sys
import urllib.error
import urllib.request

from django.utils import timezone
import pytest

from authcore.testing import free_port
from sessions_app import services
from sessions_app.introspection import new_client_secret
from sessions_app.models import Session
from sessions_app.signing import load_key_ring, new_private_jwk
from sessions_app.tests.helpers import claims, open_session, sign

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "resource_server.py"


class Example:
    def __init__(self, service_url: str, **env: str) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        self.process = subprocess.Popen(
            [sys.executable, str(EXAMPLE), "--port", self.url.rsplit(":", 1)[1]],
            env={"PATH": "/usr/bin:/bin", "AUTH_SERVICE_URL": service_url, **env},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert "resource server on" in self.process.stdout.readline()

    def hello(self, token: str) -> int:
        request = urllib.request.Request(f"{self.url}/hello", headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def stop(self) -> None:
        self.process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)


@pytest.fixture
def examples(live_server, settings):
    secret, stored = new_client_secret()
    settings.SESSIONS_APP = {**settings.SESSIONS_APP, "INTROSPECTION_CLIENTS": {"example": stored}}
    common = {"TOKEN_ISSUER": settings.SIMPLE_JWT["ISSUER"], "TOKEN_AUDIENCE": settings.SIMPLE_JWT["AUDIENCE"]}
    jwks_only = Example(live_server.url, **common)
    introspecting = Example(live_server.url, **common, INTROSPECTION_CLIENT_ID="example",
                            INTROSPECTION_CLIENT_SECRET=secret)
    yield jwks_only, introspecting
    for example in (jwks_only, introspecting):
        example.stop()


def test_the_examples_trust_live_tokens_and_only_introspection_sees_an_ended_session(examples, make_user):
    jwks_only, introspecting = examples
    tokens = open_session(make_user(password=None))
    assert jwks_only.hello(tokens.access) == 200 and introspecting.hello(tokens.access) == 200

    services.end_session(session=Session.objects.select_related("user").get(pk=tokens.session.id), reason="logout")
    assert jwks_only.hello(tokens.access) == 200  # the signature is still good until exp: the honest limit
    assert introspecting.hello(tokens.access) == 401  # the service says the session ended, at once

    other_key = load_key_ring(algorithm="ES256", keys=[new_private_jwk()]).signing.private
    forged = sign(claims(open_session(make_user("bob@example.com", password=None)).access), key=other_key)
    expired = sign({**claims(tokens.access), "exp": int((timezone.now() - timedelta(seconds=1)).timestamp())})
    for token in (forged, expired, "garbage"):
        assert jwks_only.hello(token) == 401 and introspecting.hello(token) == 401
