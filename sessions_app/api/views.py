"""REST endpoints for sessions: refresh, logout, logout-all, list and end sessions."""
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors, services
from ..authentication import SessionJWTAuthentication
from ..errors import ServiceError
from ..models import Session
from ..ratelimit import enforce_rate_limit
from ..requestmeta import client_info
from .errors import api_exception_handler
from .parsers import BoundedJSONParser
from .serializers import (
    AUTHENTICATED_ERRORS,
    COMMON_ERRORS,
    RefreshRequestSerializer,
    RevokedCountSerializer,
    SessionSerializer,
    TokenPairSerializer,
    error_responses,
    token_pair_data,
)


class AuthAPIView(APIView):
    """Base for every endpoint of the auth API: JSON in and out, JWT + live-session authentication,
    one error envelope, and `Cache-Control: no-store` (tokens and account data must never be cached)."""

    authentication_classes = [SessionJWTAuthentication]
    permission_classes = [IsAuthenticated]
    parser_classes = [BoundedJSONParser]
    renderer_classes = [JSONRenderer]
    throttle_classes: list = []

    def get_exception_handler(self):
        return api_exception_handler

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
        return response

    def validated(self, serializer_class, **kwargs) -> dict:
        serializer = serializer_class(data=self.request.data, **kwargs)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def current_session_id(self):
        return self.request.auth.get("sid") if self.request.auth is not None else None


class PublicAuthAPIView(AuthAPIView):
    """Endpoints that take their credential in the body (a refresh token, a password) and need no Bearer."""

    authentication_classes: list = []
    permission_classes = [AllowAny]


class RefreshView(PublicAuthAPIView):
    @extend_schema(
        request=RefreshRequestSerializer,
        responses={200: TokenPairSerializer, **error_responses("token_not_valid", "refresh_token_reused",
                                                               "rate_limited", *COMMON_ERRORS)},
        summary="Rotate a refresh token",
        description="Returns a new access token and a new refresh token; the presented refresh token is spent. "
        "Presenting a spent token ends the whole session (`refresh_token_reused`).",
        tags=["sessions"],
    )
    def post(self, request):
        enforce_rate_limit(request, scope="refresh")
        data = self.validated(RefreshRequestSerializer)
        tokens = services.rotate_refresh_token(raw_refresh=data["refresh"], client=client_info(request))
        return Response(token_pair_data(tokens))


class LogoutView(PublicAuthAPIView):
    @extend_schema(
        request=RefreshRequestSerializer,
        responses={204: OpenApiResponse(description="The session is ended (also when it already was)."),
                   **error_responses(*COMMON_ERRORS)},
        summary="End the session of a refresh token",
        tags=["sessions"],
    )
    def post(self, request):
        data = self.validated(RefreshRequestSerializer)
        services.end_session_by_refresh_token(raw_refresh=data["refresh"], client=client_info(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllView(AuthAPIView):
    @extend_schema(
        request=None,
        responses={200: RevokedCountSerializer, **error_responses(*AUTHENTICATED_ERRORS, *COMMON_ERRORS)},
        summary="End every session of the current user",
        tags=["sessions"],
    )
    def post(self, request):
        count = services.end_user_sessions(user=request.user, reason=Session.RevokeReason.LOGOUT_ALL,
                                           client=client_info(request))
        return Response({"revoked": count})


class LogoutOthersView(AuthAPIView):
    @extend_schema(
        request=None,
        responses={200: RevokedCountSerializer, **error_responses(*AUTHENTICATED_ERRORS, *COMMON_ERRORS)},
        summary="End every session of the current user except this one",
        tags=["sessions"],
    )
    def post(self, request):
        count = services.end_user_sessions(user=request.user, reason=Session.RevokeReason.LOGOUT_OTHERS,
                                           client=client_info(request), keep_session_id=self.current_session_id())
        return Response({"revoked": count})


class SessionListView(AuthAPIView):
    @extend_schema(
        responses={200: SessionSerializer(many=True), **error_responses(*AUTHENTICATED_ERRORS, "server_error")},
        summary="List the current user's live sessions",
        tags=["sessions"],
    )
    def get(self, request):
        sessions = selectors.live_sessions_for_user(request.user)
        return Response(
            SessionSerializer(sessions, many=True, context={"current_session_id": self.current_session_id()}).data
        )


class SessionDetailView(AuthAPIView):
    @extend_schema(
        responses={204: OpenApiResponse(description="The session is ended."),
                   **error_responses(*AUTHENTICATED_ERRORS, "not_found", "server_error")},
        summary="End one of the current user's sessions",
        tags=["sessions"],
    )
    def delete(self, request, session_id: str):
        # Another user's session, an ended one and a malformed id all look the same: 404.
        session = selectors.live_session_for_user(request.user, session_id)
        if session is None:
            raise ServiceError("not_found")
        services.end_session(session=session, reason=Session.RevokeReason.ENDED_BY_USER, client=client_info(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
