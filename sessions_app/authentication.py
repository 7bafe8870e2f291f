"""DRF authentication: a simplejwt access token whose session must still be alive, presented as `Bearer`, or, for a
token bound to a key (DPoP, sessions_app/dpop.py), as `DPoP` with a fresh proof by that key."""
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings

from authcore.api.answer_headers import add_answer_header
from authcore.errors import ServiceError

from . import dpop
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

    def authenticate(self, request):
        scheme, _, raw_token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() == "dpop":
            try:
                return self._authenticate_with_proof(request, raw_token.strip())
            except DPoPRefused:
                raise
            except InvalidToken:  # an invalid or expired token, an ended session: in the scheme it came in
                raise _dpop_refused("invalid_token") from None
        authenticated = super().authenticate(request)
        if authenticated is not None and ("cnf" in authenticated[1].payload or dpop.required()):
            # A token bound to a key is no bearer token (RFC 9449 §7.2): whoever copied it has no proof to send.
            raise _dpop_refused("invalid_token")
        return authenticated

    def _authenticate_with_proof(self, request, raw_token: str):
        token = self.get_validated_token(raw_token)
        confirmation = token.payload.get("cnf")
        jkt = confirmation.get("jkt") if isinstance(confirmation, dict) else None
        if not isinstance(jkt, str) or not jkt:
            raise _dpop_refused("invalid_token")  # a bearer token sent as DPoP: bound to nothing
        try:
            proof = dpop.check_proof(request.headers.get("DPoP"), method=request.method,
                                     url=dpop.request_uri(request), access_token=raw_token,
                                     expected_jkt=jkt)
        except ServiceError as error:
            if error.code not in ("invalid_dpop_proof", "use_dpop_nonce"):
                raise
            raise _dpop_refused(error.code, **error.headers) from None
        if proof.next_nonce:
            add_answer_header(request, "DPoP-Nonce", proof.next_nonce)
        return self.get_user(token), token

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

    def authenticate_header(self, request) -> str:
        """The challenge of a 401: Bearer where bearer tokens work; where DPoP is required, the DPoP challenge (RFC
        9449 §7.1), which names the scheme a client must use and the proof algorithms this service accepts."""
        if dpop.required():
            return dpop_challenge()
        return super().authenticate_header(request)

    @staticmethod
    def _token_not_valid() -> InvalidToken:
        if dpop.required():  # the challenge says why, in the scheme the client must use (RFC 9449 §7.1)
            return _dpop_refused("invalid_token")
        return InvalidToken({"detail": "Token is invalid or expired", "code": "token_not_valid"})


class DPoPRefused(InvalidToken):
    """401 `token_not_valid`, with the DPoP challenge of RFC 9449 §7.1 (and a nonce to use, if asked for one)."""

    def __init__(self, error: str, headers: dict[str, str]) -> None:
        super().__init__({"detail": "Token is invalid or expired", "code": "token_not_valid"})
        self.headers = {"WWW-Authenticate": dpop_challenge(error), **headers}


def _dpop_refused(error: str, **headers: str) -> DPoPRefused:
    return DPoPRefused(error, headers)


def dpop_challenge(error: str | None = None) -> str:
    """`WWW-Authenticate: DPoP`, with the error if there is one, and the proof algorithms accepted."""
    algorithms = f'algs="{" ".join(dpop.ALGORITHMS)}"'
    return f'DPoP error="{error}", {algorithms}' if error else f"DPoP {algorithms}"
