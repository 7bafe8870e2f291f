"""For a host project's API views: ask for a recent proof of who the user is before a sensitive action, or for a
sign-in with a second factor.

    from rest_framework.permissions import IsAuthenticated
    from sessions_app.permissions import MultiFactorAuthenticated, RecentlyAuthenticated

    class TransferView(APIView):
        permission_classes = [IsAuthenticated, MultiFactorAuthenticated, RecentlyAuthenticated]

The access token says when its user last proved who they are (`auth_time`: the sign-in, or a later
`POST /api/auth/reauthenticate/`), so the check costs no query. Too long ago (SESSIONS_APP
RECENT_AUTHENTICATION_WINDOW): 403 `reauthentication_required`; the client confirms the password with
`reauthenticate/`, which answers with an access token carrying the new time, and tries again. For a Django view
of the account pages, `sessions_app.browser.recent_authentication_page` does the same for a browser sign-in.

`MultiFactorAuthenticated` reads the token's `amr` (RFC 8176): a session signed in with a second factor carries
"mfa", and otherwise the answer is 403 `second_factor_required` (the user turns MFA on and signs in again; an account
with a factor never gets a session without it). `sessions_app.browser.multi_factor_page` is the same for a page.
"""
import time

from rest_framework.permissions import BasePermission

from authcore.errors import ServiceError

from .conf import app_settings
from .models import SECOND_FACTOR_METHOD


class RecentlyAuthenticated(BasePermission):
    def has_permission(self, request, view) -> bool:
        token = request.auth
        auth_time = token.get("auth_time") if token is not None and hasattr(token, "get") else None
        window = app_settings.RECENT_AUTHENTICATION_WINDOW.total_seconds()
        if not isinstance(auth_time, int) or auth_time < time.time() - window:
            raise ServiceError("reauthentication_required")
        return True


class MultiFactorAuthenticated(BasePermission):
    def has_permission(self, request, view) -> bool:
        token = request.auth
        amr = token.get("amr") if token is not None and hasattr(token, "get") else None
        if not isinstance(amr, list) or SECOND_FACTOR_METHOD not in amr:
            raise ServiceError("second_factor_required")
        return True
