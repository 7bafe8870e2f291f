"""REST endpoints for sessions: refresh, logout, logout-all, list and end sessions."""
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from authcore.api.inputs import request_serializer
from authcore.api.serializers import COMMON_ERRORS, error_responses
from authcore.api.views import JSONAPIView, PublicJSONAPIView
from authcore.errors import ServiceError
from authcore.requestmeta import client_info

from .. import selectors, services
from ..authentication import SessionJWTAuthentication
from ..forms import RefreshForm
from ..models import Session
from .serializers import (
    AUTHENTICATED_ERRORS,
    RevokedCountSerializer,
    SessionSerializer,
    TokenPairSerializer,
    token_pair_data,
)


class AuthAPIView(JSONAPIView):
    """An endpoint for a signed-in caller: JWT + live-session authentication (SessionJWTAuthentication)."""

    authentication_classes = [SessionJWTAuthentication]
    permission_classes = [IsAuthenticated]

    def current_session_id(self):
        return self.request.auth.get("sid") if self.request.auth is not None else None


class RefreshView(PublicJSONAPIView):
    @extend_schema(
        request=request_serializer(RefreshForm),
        responses={200: TokenPairSerializer, **error_responses("token_not_valid", "refresh_token_reused",
                                                               "rate_limited", *COMMON_ERRORS)},
        summary="Rotate a refresh token",
        description="Returns a new access token and a new refresh token; the presented refresh token is spent. "
        "Presenting a spent token ends the whole session (`refresh_token_reused`).",
        tags=["sessions"],
    )
    def post(self, request):
        data = self.validated(RefreshForm)
        tokens = services.rotate_refresh_token(raw_refresh=data["refresh"], client=client_info(request))
        return Response(token_pair_data(tokens))


class LogoutView(PublicJSONAPIView):
    @extend_schema(
        request=request_serializer(RefreshForm),
        responses={204: OpenApiResponse(description="The session is ended (also when it already was)."),
                   **error_responses(*COMMON_ERRORS)},
        summary="End the session of a refresh token",
        tags=["sessions"],
    )
    def post(self, request):
        data = self.validated(RefreshForm)
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
