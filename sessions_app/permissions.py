"""For a host project's API views: ask for a recent proof of who the user is before a sensitive action.

    from rest_framework.permissions import IsAuthenticated
    from sessions_app.permissions import RecentlyAuthenticated

    class TransferView(APIView):
        permission_classes = [IsAuthenticated, RecentlyAuthenticated]

The access token says when its user last proved who they are (`auth_time`: the sign-in, or a later
`POST /api/auth/reauthenticate/`), so the check costs no query. Too long ago (SESSIONS_APP
RECENT_AUTHENTICATION_WINDOW): 403 `reauthentication_required`; the client confirms the password with
`reauthenticate/`, which answers with an access token carrying the new time, and tries again. For a Django view
of the account pages, `sessions_app.browser.recent_authentication_page` does the same for a browser sign-in.
"""
import time

from rest_framework.permissions import BasePermission

from authcore.errors import ServiceError

from .conf import app_settings


class RecentlyAuthenticated(BasePermission):
    def has_permission(self, request, view) -> bool:
        token = request.auth
        auth_time = token.get("auth_time") if token is not None and hasattr(token, "get") else None
        window = app_settings.RECENT_AUTHENTICATION_WINDOW.total_seconds()
        if not isinstance(auth_time, int) or auth_time < time.time() - window:
            raise ServiceError("reauthentication_required")
        return True
