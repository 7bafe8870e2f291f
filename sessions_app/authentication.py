"""DRF authentication: a simplejwt access token whose session must still be alive."""
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings as jwt_settings

from .selectors import user_for_live_session


class SessionJWTAuthentication(JWTAuthentication):
    """simplejwt verifies signature, algorithm, exp (no leeway), iss, aud and token type; we then require
    the token's session (`sid`) to be alive and its user active, in one query. Logging out, ending a
    session, logout-all, password change/reset, deactivation and reuse detection therefore take effect on
    the very next request, not when the access token expires."""

    def get_user(self, validated_token):
        user = user_for_live_session(
            user_id=validated_token.get(jwt_settings.USER_ID_CLAIM), session_id=validated_token.get("sid")
        )
        if user is None:
            raise InvalidToken({"detail": "Token is invalid or expired", "code": "token_not_valid"})
        return user
