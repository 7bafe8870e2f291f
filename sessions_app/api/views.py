"""REST endpoints for sessions: refresh, logout, logout-all, list and end sessions."""
import base64
import binascii
from urllib.parse import unquote_plus, urlencode

from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from authcore.api.inputs import request_serializer
from authcore.api.parsers import BoundedFormParser, BoundedJSONParser
from authcore.api.serializers import COMMON_ERRORS, error_responses
from authcore.api.views import JSONAPIView, PublicJSONAPIView
from authcore.errors import ServiceError
from authcore.requestmeta import client_info

from .. import introspection, selectors, services, signing
from ..authentication import SessionJWTAuthentication
from ..conf import app_settings
from ..forms import IntrospectForm, RefreshForm
from ..models import Session
from . import transport
from .dpop import token_endpoint_client
from .serializers import (
    AUTHENTICATED_ERRORS,
    CsrfTokenSerializer,
    IntrospectionSerializer,
    JWKSSerializer,
    RevokedCountSerializer,
    SessionSerializer,
    TokenPairSerializer,
    token_pair_data,
)


def refresh_cookie_parameter() -> OpenApiParameter:
    return OpenApiParameter(
        transport.refresh_cookie_name(), str, location=OpenApiParameter.COOKIE, required=False,
        description="The refresh token of a cookie-mode session, set by login and refresh (HttpOnly, scoped to "
                    "/api/auth/cookie/). Requires the X-CSRFToken header.")


COOKIE_DESCRIPTION = (
    " Cookie transport: the token comes from the session's HttpOnly cookie, with no body (or `{}`); such a "
    "request must carry Django's CSRF token in the `X-CSRFToken` header (403 `csrf_failed` otherwise, before "
    "the token is looked at). A token in the body and a cookie at once are refused (400).")


class AuthAPIView(JSONAPIView):
    """An endpoint for a signed-in caller: JWT + live-session authentication (SessionJWTAuthentication)."""

    authentication_classes = [SessionJWTAuthentication]
    permission_classes = [IsAuthenticated]

    def current_session_id(self):
        return self.request.auth.get("sid") if self.request.auth is not None else None


class RefreshTokenView(PublicJSONAPIView):
    """An endpoint that takes a refresh token from the body or, for a cookie-mode session, its cookie (which
    browsers send only to /api/auth/cookie/, where these views are mounted a second time)."""

    cookie_presented = False

    def presented_refresh_token(self) -> str:
        """The token to use: the body's or the cookie's. A request that carries the cookie passes the CSRF
        check first, before its body is even parsed (a cross-site form post gets 403, not 415)."""
        cookie_token = transport.cookie_refresh_token(self.request)
        if cookie_token is not None:
            transport.enforce_csrf(self.request._request)
        body_token = self.validated(RefreshForm).get("refresh")
        if body_token and cookie_token:
            # Which one would the answer be about? Rotating or ending the body's session while the browser's
            # cookie belongs to another would clear or overwrite the wrong credential.
            raise ServiceError("invalid", field_errors=[{
                "field": "refresh", "code": "two_tokens",
                "message": gettext("Send the refresh token in the body or in its cookie, not both.")}])
        if not body_token and not cookie_token:
            raise self.missing_token_error()
        self.cookie_presented = cookie_token is not None
        return body_token or cookie_token

    def missing_token_error(self) -> ServiceError:
        return ServiceError("invalid", field_errors=[
            {"field": "refresh", "code": "required", "message": gettext("This field is required.")}])

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        # The token came from the cookie and will never work again: the cookie goes too.
        if self.cookie_presented and getattr(exc, "code", None) in transport.SESSION_ENDING_ERRORS:
            transport.clear_refresh_cookie(response)
        return response


REFRESH_ERRORS = ("token_not_valid", "refresh_token_reused", "invalid_dpop_proof", "use_dpop_nonce", "rate_limited",
                  *COMMON_ERRORS)


class RefreshView(RefreshTokenView):
    @extend_schema(
        request=request_serializer(RefreshForm),
        responses={200: TokenPairSerializer, **error_responses(*REFRESH_ERRORS)},
        summary="Rotate a refresh token",
        description="Returns a new access token and a new refresh token; the presented refresh token is spent. "
        "Presenting a spent token ends the whole session (`refresh_token_reused`). A session bound to a DPoP key "
        "refreshes only with a `DPoP` proof by that key (400 `invalid_dpop_proof`, the token not spent). A "
        "cookie-mode session refreshes at `cookie/refresh/`.",
        tags=["sessions"],
    )
    def post(self, request):
        raw_refresh = self.presented_refresh_token()
        tokens = services.rotate_refresh_token(raw_refresh=raw_refresh, client=token_endpoint_client(request))
        return transport.body_and_cookie(token_pair_data(tokens), tokens, Response)


class CookieRefreshView(RefreshView):
    @extend_schema(
        request=None,
        responses={200: TokenPairSerializer,
                   **error_responses("csrf_failed", "no_session_cookie", *REFRESH_ERRORS)},
        parameters=[refresh_cookie_parameter()],
        summary="Rotate the refresh token of a cookie-mode session",
        description="As `refresh/`, for the cookie transport: the new refresh token is set in the cookie and "
        "left out of the body; an error that ends the session clears the cookie. Without the cookie (never "
        "signed in here, signed out, or expired): 401 `no_session_cookie`, which a browser app treats as "
        "signed out." + COOKIE_DESCRIPTION,
        tags=["sessions"],
    )
    def post(self, request):
        return super().post(request)

    def missing_token_error(self) -> ServiceError:
        # A cookie client never sends the body's field: the answer is about the cookie it lacks.
        return ServiceError("no_session_cookie")


class LogoutView(RefreshTokenView):
    @extend_schema(
        request=request_serializer(RefreshForm),
        responses={204: OpenApiResponse(description="The session is ended (also when it already was)."),
                   **error_responses(*COMMON_ERRORS)},
        summary="End the session of a refresh token",
        description="A cookie-mode session logs out at `cookie/logout/`.",
        tags=["sessions"],
    )
    def post(self, request):
        services.end_session_by_refresh_token(raw_refresh=self.presented_refresh_token(),
                                              client=client_info(request))
        response = Response(status=status.HTTP_204_NO_CONTENT)
        if self.cookie_presented:
            transport.clear_refresh_cookie(response)
        return response


class CookieLogoutView(LogoutView):
    @extend_schema(
        request=None,
        responses={204: OpenApiResponse(description="The session is ended (also when it already was) and the "
                                                    "cookie cleared."),
                   **error_responses("csrf_failed", *COMMON_ERRORS)},
        parameters=[refresh_cookie_parameter()],
        summary="End the session of the refresh cookie",
        description="As `logout/`, for the cookie transport; the cookie is cleared." + COOKIE_DESCRIPTION,
        tags=["sessions"],
    )
    def post(self, request):
        return super().post(request)


class CsrfTokenView(PublicJSONAPIView):
    @extend_schema(
        request=None, responses={200: CsrfTokenSerializer},
        summary="A CSRF token for cookie-mode refresh and logout",
        description="Also sets Django's `csrftoken` cookie. A same-site app can read that cookie; an app on "
        "another (allowed) origin reads the token from this body, for instance after a page reload.",
        tags=["sessions"],
    )
    def get(self, request):
        return Response({"csrf_token": transport.issue_csrf_token(request._request)})


class LogoutAllView(AuthAPIView):
    @extend_schema(
        request=None,
        responses={200: RevokedCountSerializer, **error_responses(*AUTHENTICATED_ERRORS, *COMMON_ERRORS)},
        summary="End every session of the current user",
        description="Every session of the user ends at once, this one too: their refresh tokens are refused "
        "and their access tokens stop working on their next request. The answer also clears the refresh cookie "
        "of the cookie transport.",
        tags=["sessions"],
    )
    def post(self, request):
        count = services.end_user_sessions(user=request.user, reason=Session.RevokeReason.LOGOUT_ALL,
                                           client=client_info(request))
        response = Response({"revoked": count})
        # This browser's session ended with the rest. The cookie is not sent here (its path is
        # /api/auth/cookie/), so it is cleared whatever the request carried: for a REST client, a header it
        # ignores.
        transport.clear_refresh_cookie(response)
        return response


class LogoutOthersView(AuthAPIView):
    @extend_schema(
        request=None,
        responses={200: RevokedCountSerializer, **error_responses(*AUTHENTICATED_ERRORS, *COMMON_ERRORS)},
        summary="End every session of the current user except this one",
        description="The other sessions' refresh and access tokens stop working at once; this session goes on.",
        tags=["sessions"],
    )
    def post(self, request):
        count = services.end_user_sessions(user=request.user, reason=Session.RevokeReason.LOGOUT_OTHERS,
                                           client=client_info(request), keep_session_id=self.current_session_id())
        return Response({"revoked": count})


SESSION_PAGES_DESCRIPTION = (
    "A page of `SESSIONS_APP['SESSIONS_PAGE_SIZE']` sessions (10 by default); the `Link` header (RFC 8288) holds the "
    "URLs of the pages around it, `rel=\"next\"` (older sessions) and `rel=\"prev\"` (newer), each with its "
    "`cursor`, and is absent when there is neither.")


class SessionListView(AuthAPIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("cursor", str, pattern=r"^[A-Za-z0-9_-]{0,80}$",
                             description="The page to show, as the `Link` header of the previous answer gives it "
                             "(opaque); none: the first page. Anything else is a 400 `invalid_cursor`."),
            OpenApiParameter("Link", str, location=OpenApiParameter.HEADER, response=[200],
                             description="`<url>; rel=\"next\"` and `<url>; rel=\"prev\"`, the pages around this one, "
                             "when there are any."),
        ],
        responses={200: OpenApiResponse(SessionSerializer(many=True), description=SESSION_PAGES_DESCRIPTION),
                   **error_responses(*AUTHENTICATED_ERRORS, "invalid_cursor", "server_error")},
        summary="List the current user's live sessions",
        operation_id="auth_sessions_list",  # as when the answer was the whole list (generated clients keep it)
        description="Live sessions only (not ended, not expired), newest sign-in first (`created_at`, then `id`); "
        "`current` marks the one this access token belongs to. " + SESSION_PAGES_DESCRIPTION + " Paging by cursor "
        "is stable: sessions that start or end between two requests neither repeat nor skip one.",
        tags=["sessions"],
    )
    def get(self, request):
        cursors = request.query_params.getlist("cursor")
        if len(cursors) > 1:
            raise ServiceError("invalid_cursor")
        page = selectors.live_sessions_page(request.user, cursor=cursors[0] if cursors else None)
        response = Response(
            SessionSerializer(page.sessions, many=True, context={"current_session_id": self.current_session_id()}).data
        )
        # Relative references (RFC 8288 §3.2), resolved by the client against the URL it asked: right behind any
        # proxy, and nothing taken from the Host header.
        links = [f'<{request.path}?{urlencode({"cursor": cursor})}>; rel="{rel}"'
                 for rel, cursor in (("next", page.older), ("prev", page.newer)) if cursor]
        if links:
            response["Link"] = ", ".join(links)
        return response


class SessionDetailView(AuthAPIView):
    @extend_schema(
        responses={204: OpenApiResponse(description="The session is ended."),
                   **error_responses(*AUTHENTICATED_ERRORS, "not_found", "server_error")},
        summary="End one of the current user's sessions",
        description="Its refresh token is refused and its access tokens stop working at once. Another user's "
        "session, an ended one and an unknown id all answer 404.",
        tags=["sessions"],
    )
    def delete(self, request, session_id: str):
        # Another user's session, an ended one and a malformed id all look the same: 404.
        session = selectors.live_session_for_user(request.user, session_id)
        if session is None:
            raise ServiceError("not_found")
        services.end_session(session=session, reason=Session.RevokeReason.ENDED_BY_USER, client=client_info(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class JWKSView(PublicJSONAPIView):
    """The public keys that verify access tokens (RFC 7517 JWK Set), for other services: never a private part, and
    nothing while the shared secret signs (HS256: no one else can check a token)."""

    @extend_schema(responses={200: JWKSSerializer}, summary="The public keys of access tokens (JWKS)",
                   description="Every key in SESSIONS_APP['SIGNING_KEYS'], the one that signs first; a token's `kid` "
                   "header names the key that verifies it. Cacheable for SESSIONS_APP['JWKS_MAX_AGE'] "
                   "(`Cache-Control: public, max-age=...`): a new key is published at least that long before it "
                   "signs. Empty with HS256.", tags=["tokens"])
    def get(self, request):
        return Response(signing.key_ring().jwks())

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code == status.HTTP_200_OK:
            # Public keys: any cache may keep them, for as long as the rotation procedure allows.
            response["Cache-Control"] = f"public, max-age={int(app_settings.JWKS_MAX_AGE.total_seconds())}"
            response["Access-Control-Allow-Origin"] = "*"
            del response["Pragma"]
        return response


class IntrospectView(PublicJSONAPIView):
    """RFC 7662 token introspection, for resource servers (sessions_app/introspection.py)."""

    parser_classes = [BoundedJSONParser, BoundedFormParser]

    @extend_schema(request=request_serializer(IntrospectForm),
                   responses={200: IntrospectionSerializer,
                              **error_responses("invalid_client", "rate_limited", *COMMON_ERRORS)},
                   summary="Introspect an access token (RFC 7662)",
                   description="For a resource server in SESSIONS_APP['INTROSPECTION_CLIENTS'], authenticated with "
                   "HTTP Basic (client id and secret) or `client_id` and `client_secret` in the body (401 "
                   "`invalid_client` otherwise). The body may be form-encoded, as RFC 7662 says, or JSON. `active` "
                   "is true only for an access token of this service whose session is alive and whose user is "
                   "active: a token of a session that has ended is `active: false` at once, even before it "
                   "expires. An answer is true at the moment it is given: a resource server that caches it accepts "
                   "a token for that long after its session ended (keep such a cache to seconds).",
                   tags=["tokens"])
    def post(self, request):
        data = self.validated(IntrospectForm)
        in_body = (data.get("client_id", ""), data.get("client_secret", ""))
        if request.headers.get("Authorization") and any(in_body):
            raise ServiceError("invalid_client")  # RFC 6749 §2.3: one way of authenticating, not two
        client_id, secret = basic_credentials(request) or in_body
        info = client_info(request)
        client_id = introspection.authenticate_client(client_id, secret, client=info)
        return Response(introspection.introspect(data["token"], client_id=client_id, client=info))

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if getattr(exc, "code", None) == "invalid_client":
            response["WWW-Authenticate"] = 'Basic realm="introspection"'
        return response


def basic_credentials(request) -> tuple[str, str] | None:
    """HTTP Basic's client id and secret (RFC 6749 §2.3.1: each form-urlencoded), or None."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic" or not value or len(value) > 512:
        return None
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, ValueError):  # not base64 (or not ASCII), not UTF-8
        return None
    client_id, colon, secret = decoded.partition(":")
    client_id, secret = unquote_plus(client_id), unquote_plus(secret)
    if not colon or not (client_id + secret).isprintable():
        return None
    return client_id, secret
