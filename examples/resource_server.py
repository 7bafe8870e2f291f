"""An example resource server: a small WSGI application, with no Django, that serves its own API to the users of the
auth service and trusts the service's access tokens.

    AUTH_SERVICE_URL=https://auth.example.com TOKEN_ISSUER=https://auth.example.com TOKEN_AUDIENCE=auth-service \
        python examples/resource_server.py --port 8001

`GET /hello` with `Authorization: Bearer <access token>` answers 200 `{"hello": <the user's id>, "checked": ...}`,
or 401 for anything else. Every token is checked with the service's public keys (its JWKS at
/.well-known/jwks.json, cached and fetched again for an unknown `kid`): the signature, its key's algorithm only,
`exp`, `iss`, `aud` and `token_type`. That is all it can know alone: a token whose session has ended still passes
until it expires (5 minutes by default).

With INTROSPECTION_CLIENT_ID and INTROSPECTION_CLIENT_SECRET set, it also asks the service (RFC 7662) whether the
token is still active, and refuses a token whose session has ended at once. That costs a request to the service
each time (cache the answers only for seconds, if at all).

Needs PyJWT with its crypto extra (`pip install "pyjwt[crypto]"`) and the standard library.
"""
import argparse
import base64
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from wsgiref.simple_server import WSGIRequestHandler, make_server

import jwt

SERVICE = os.environ.get("AUTH_SERVICE_URL", "http://127.0.0.1:8000").rstrip("/")
ISSUER = os.environ.get("TOKEN_ISSUER", SERVICE)
AUDIENCE = os.environ.get("TOKEN_AUDIENCE", "auth-service")
CLIENT_ID = os.environ.get("INTROSPECTION_CLIENT_ID", "")
CLIENT_SECRET = os.environ.get("INTROSPECTION_CLIENT_SECRET", "")

class Refused(Exception):
    pass


class PublicKeys:
    """The JWKS, kept for its max-age (5 minutes by default) and fetched again when a token names a key not in it,
    but at most once a minute: tokens with made-up `kid`s must not turn into a flood of fetches."""

    def __init__(self, url: str) -> None:
        self.client = jwt.PyJWKClient(url, cache_jwk_set=True, lifespan=300)
        self.fetched_at = 0.0

    def key_for(self, token: str) -> jwt.PyJWK:
        kid = jwt.get_unverified_header(token).get("kid")
        known = {key.key_id: key for key in self.client.get_signing_keys()}  # from the cache while it is fresh
        if kid not in known and time.monotonic() - self.fetched_at > 60:
            self.fetched_at = time.monotonic()
            known = {key.key_id: key for key in self.client.get_signing_keys(refresh=True)}
        if kid not in known:
            raise Refused("a key the service does not publish")
        return known[kid]


keys = PublicKeys(f"{SERVICE}/.well-known/jwks.json")


def verify_with_the_public_keys(token: str) -> dict:
    try:
        key = keys.key_for(token)
        claims = jwt.decode(token, key.key, algorithms=[key.algorithm_name], audience=AUDIENCE, issuer=ISSUER,
                            options={"require": ["exp", "iat", "iss", "aud", "sub", "sid"]})
    except (jwt.PyJWKClientError, jwt.InvalidTokenError) as error:
        raise Refused(str(error)) from None
    if claims.get("token_type") != "access":
        raise Refused("not an access token")
    if "cnf" in claims:
        # Bound to the client's key (DPoP): only its holder may use it, with a proof, which this example does not
        # check. Accepting it as a bearer token would undo what the binding is for.
        raise Refused("a DPoP-bound token, sent as Bearer")
    return claims


def still_active(token: str) -> bool:
    """RFC 7662: form-encoded, the resource server's credentials as HTTP Basic."""
    credentials = base64.b64encode(f"{urllib.parse.quote_plus(CLIENT_ID)}:"
                                   f"{urllib.parse.quote_plus(CLIENT_SECRET)}".encode()).decode()
    request = urllib.request.Request(
        f"{SERVICE}/api/auth/introspect/", data=urllib.parse.urlencode({"token": token}).encode(),
        headers={"Authorization": f"Basic {credentials}", "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response).get("active") is True


def application(environ, start_response):
    def answer(status: str, body: dict, extra: list | None = None):
        start_response(status, [("Content-Type", "application/json"), *(extra or [])])
        return [json.dumps(body).encode()]

    if environ["PATH_INFO"] != "/hello":
        return answer("404 Not Found", {"error": "not_found"})
    scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    try:
        if scheme != "Bearer" or not token:
            raise Refused("no bearer token")
        claims = verify_with_the_public_keys(token)
        if CLIENT_ID and not still_active(token):
            raise Refused("the token's session has ended")
    except (urllib.error.URLError, OSError, ValueError):
        # The service could not be asked: refuse, and say it is not the token's fault.
        return answer("503 Service Unavailable", {"error": "temporarily_unavailable"})
    except Refused as refused:
        return answer("401 Unauthorized", {"error": "invalid_token", "detail": str(refused)},
                      [("WWW-Authenticate", 'Bearer error="invalid_token"')])
    return answer("200 OK", {"hello": claims["sub"], "checked": "introspection" if CLIENT_ID else "jwks"})


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8001)
    port = parser.parse_args().port
    with make_server("127.0.0.1", port, application, handler_class=QuietHandler) as server:
        print(f"resource server on http://127.0.0.1:{port}/hello, tokens from {SERVICE}", flush=True)
        server.serve_forever()
