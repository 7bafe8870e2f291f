"""REST endpoints of connected accounts (mounted at /api/connections/). Each view validates its input and
calls one service function; responses carry metadata only, never a token."""
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from authcore.api.inputs import request_serializer
from authcore.api.serializers import COMMON_ERRORS, error_responses
from authcore.requestmeta import client_info
from sessions_app.api.serializers import AUTHENTICATED_ERRORS
from sessions_app.api.views import AuthAPIView

from .. import services
from ..browser_binding import set_binding_cookie
from ..forms import ProviderRedirectForm
from .serializers import ConnectionSerializer, StartedConnectionSerializer

TAGS = ["connected accounts"]


class ConnectionListView(AuthAPIView):
    @extend_schema(responses={200: ConnectionSerializer(many=True), **error_responses(*AUTHENTICATED_ERRORS)},
                   summary="The user's connected accounts", description="Metadata only: no token.", tags=TAGS)
    def get(self, request):
        return Response(ConnectionSerializer(services.list_connections(user=request.user), many=True).data)


class ConnectView(AuthAPIView):
    @extend_schema(
        request=None,
        responses={200: StartedConnectionSerializer,
                   **error_responses("unknown_provider", "provider_unavailable", "rate_limited",
                                     *AUTHENTICATED_ERRORS, *COMMON_ERRORS)},
        summary="Start connecting a provider",
        description="Returns the provider's authorization URL (authorization code flow with PKCE S256 and a "
        "single-use `state` bound to this user, valid CONNECTIONS STATE_LIFETIME). A browser app navigates to it; "
        "the provider sends the browser back to this service's callback page, which completes the connection "
        "only in the browser that got this response (an HttpOnly cookie set here). An app with its own "
        "redirect URI posts the provider's answer to `callback/` instead.",
        tags=TAGS,
    )
    def post(self, request, provider: str):
        started = services.start_connection(user=request.user, provider_name=provider, client=client_info(request))
        response = Response(StartedConnectionSerializer(started).data)
        set_binding_cookie(response, provider, started)
        return response


class CompleteConnectionView(AuthAPIView):
    @extend_schema(
        request=request_serializer(ProviderRedirectForm),
        responses={200: ConnectionSerializer,
                   **error_responses("invalid_state", "connection_denied", "connection_failed", "unknown_provider",
                                     "provider_unavailable", "rate_limited", *AUTHENTICATED_ERRORS, *COMMON_ERRORS)},
        summary="Complete a connection with the provider's answer",
        description="For apps whose redirect URI is their own: post the `state` and `code` (or `error`) the "
        "provider redirected with. The state must be one this user started, unused and unexpired (400 "
        "`invalid_state`); `error` (the user refused) is 400 `connection_denied`; a code the provider refuses is "
        "400 `connection_failed`. Nothing is stored on any error. Connecting a provider again replaces the "
        "tokens.",
        tags=TAGS,
    )
    def post(self, request, provider: str):
        data = self.validated(ProviderRedirectForm)
        connection = services.complete_connection(provider_name=provider, user=request.user,
                                                  client=client_info(request), **data)
        return Response(ConnectionSerializer(connection).data)


class ConnectionDetailView(AuthAPIView):
    @extend_schema(responses={200: ConnectionSerializer,
                              **error_responses("not_connected", "unknown_provider", *AUTHENTICATED_ERRORS)},
                   summary="Token info of one connection",
                   description="Provider, scopes, expiry, dates and status; decrypts nothing.", tags=TAGS)
    def get(self, request, provider: str):
        return Response(ConnectionSerializer(services.token_info(user=request.user, provider_name=provider)).data)

    @extend_schema(responses={204: OpenApiResponse(description="Disconnected."),
                              **error_responses("not_connected", "unknown_provider", *AUTHENTICATED_ERRORS)},
                   summary="Disconnect a provider",
                   description="Revokes the tokens at the provider (RFC 7009) where it can be reached, deletes "
                   "them here whatever the provider does, and marks the connection revoked.", tags=TAGS)
    def delete(self, request, provider: str):
        services.disconnect(user=request.user, provider_name=provider, client=client_info(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
