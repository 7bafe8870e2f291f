"""REST endpoints for the account: login, profile, password change."""
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from sessions_app.api.serializers import (
    AUTHENTICATED_ERRORS,
    COMMON_ERRORS,
    TokenPairSerializer,
    error_responses,
    token_pair_data,
)
from sessions_app.api.views import AuthAPIView, PublicAuthAPIView
from sessions_app.ratelimit import enforce_rate_limit
from sessions_app.requestmeta import client_info

from .. import services
from .serializers import (
    ChangePasswordRequestSerializer,
    LoginRequestSerializer,
    LoginResponseSerializer,
    ProfileUpdateSerializer,
    UserSerializer,
)


class LoginView(PublicAuthAPIView):
    @extend_schema(
        request=LoginRequestSerializer,
        responses={200: LoginResponseSerializer, **error_responses("invalid_credentials", "email_not_verified",
                                                                   "rate_limited", *COMMON_ERRORS)},
        summary="Log in with email and password",
        description="Opens a new session and returns its first token pair. Unknown email, wrong password and "
        "inactive account give the same 401 `invalid_credentials`.",
        tags=["account"],
    )
    def post(self, request):
        submitted_email = request.data.get("email") if isinstance(request.data, dict) else None
        enforce_rate_limit(request, scope="login", account=submitted_email if isinstance(submitted_email, str) else None)
        data = self.validated(LoginRequestSerializer)
        user, tokens = services.log_in(
            email=data["email"], password=data["password"], client=client_info(request), request=request
        )
        return Response(
            {**token_pair_data(tokens), "session_id": str(tokens.session.id), "user": UserSerializer(user).data}
        )


class MeView(AuthAPIView):
    @extend_schema(responses={200: UserSerializer, **error_responses(*AUTHENTICATED_ERRORS, "server_error")},
                   summary="The current user", tags=["account"])
    def get(self, request):
        return Response(UserSerializer(request.user).data)

    @extend_schema(
        request=ProfileUpdateSerializer,
        responses={200: UserSerializer, **error_responses(*AUTHENTICATED_ERRORS, *COMMON_ERRORS)},
        summary="Update the current user's profile", tags=["account"],
    )
    def patch(self, request):
        data = self.validated(ProfileUpdateSerializer)
        user = services.update_profile(user=request.user, name=data["name"])
        return Response(UserSerializer(user).data)


class ChangePasswordView(AuthAPIView):
    @extend_schema(
        request=ChangePasswordRequestSerializer,
        responses={200: TokenPairSerializer, **error_responses("password_incorrect", *AUTHENTICATED_ERRORS,
                                                               *COMMON_ERRORS)},
        summary="Change the password",
        description="Requires the current password. Every other session of the user ends at once; the current "
        "session continues with the new token pair returned here.",
        tags=["account"],
    )
    def post(self, request):
        data = self.validated(ChangePasswordRequestSerializer)
        tokens = services.change_password(
            user=request.user,
            session_id=self.current_session_id(),
            current_password=data["current_password"],
            new_password=data["new_password"],
            client=client_info(request),
        )
        return Response(token_pair_data(tokens))
