"""DRF authentication: a simplejwt access token whose session must still be alive."""
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings

from .models import Session
from .selectors import user_for_live_session
from .services import end_session
from .tokens import SessionAccessToken


class SessionJWTAuthentication(JWTAuthentication):
    """simplejwt verifies signature (with the key the token's `kid` names, sessions_app.signing), algorithm, exp (no
    leeway), iss, aud and token type; we then require
    the token's session (`sid`) to be alive and its user active, in one query. Logging out, ending a
    session, logout-all, password change/reset, deactivation and reuse detection therefore take effect on
    the very next request, not when the access token expires."""

    def get_validated_token(self, raw_token):
        """Only this service's access tokens, with its keys (whatever SIMPLE_JWT["AUTH_TOKEN_CLASSES"] says)."""
        try:
            return SessionAccessToken(raw_token)
        except TokenError:
            raise self._token_not_valid() from None

    def get_user(self, validated_token):
        session_id = validated_token.get("sid")
        user = user_for_live_session(user_id=validated_token.get(jwt_settings.USER_ID_CLAIM), session_id=session_id)
        if user is None:
            raise self._token_not_valid()
        if not user.is_active:
            # Deactivated by a path that left the session alive (raw SQL, say): end it now, so reactivating
            # the account later does not revive this token. Queries and a write only on this failure path.
            session = Session.objects.select_related("user").filter(pk=session_id).first()
            if session is not None:
                end_session(session=session, reason=Session.RevokeReason.USER_DEACTIVATED)
            raise self._token_not_valid()
        return user

    @staticmethod
    def _token_not_valid() -> InvalidToken:
        return InvalidToken({"detail": "Token is invalid or expired", "code": "token_not_valid"})
