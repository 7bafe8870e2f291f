"""Counts token-endpoint requests for the harness. Rows in the token tables cannot do it: revoking deletes
access tokens, and a refused refresh leaves no row at all."""
import json
import threading

from django.conf import settings

TOKEN_PATH = "/o/token/"
_write_lock = threading.Lock()


class TokenRequestLog:
    """Appends one JSON line per answered POST to the token endpoint: its grant type and status. The line is
    written before the response leaves, so a client that has its answer can already count it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.method == "POST" and request.path == TOKEN_PATH:
            line = json.dumps({"grant_type": request.POST.get("grant_type", ""), "status": response.status_code})
            with _write_lock, open(settings.TOKEN_REQUEST_LOG, "a", encoding="utf-8") as log:
                log.write(line + "\n")
        return response


class RefreshWithoutRefreshToken:
    """With PROVIDER_KEEP_REFRESH_TOKEN set, a refresh answers without a refresh token: the provider keeps
    the one it issued for the grant's life and the client goes on using it (as several large providers do;
    RFC 6749 §6 makes the new refresh token optional). Rotation is off then, so the old token stays valid."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (settings.KEEP_REFRESH_TOKEN and request.method == "POST" and request.path == TOKEN_PATH
                and request.POST.get("grant_type") == "refresh_token" and response.status_code == 200):
            body = json.loads(response.content)
            body.pop("refresh_token", None)
            response.content = json.dumps(body).encode()
            response["Content-Length"] = str(len(response.content))
        return response
