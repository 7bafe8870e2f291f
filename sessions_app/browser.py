"""Signing in on the account pages: a browser sign-in is a session like any other.

The sign-in page runs the login flow every client runs (accounts.flows.login.log_in), with the transport
"browser": it opens a Session row, which the sessions list of the API and of the pages and the admin show,
and which ends the way every session ends. No refresh or access token leaves the server: the browser holds
Django's session cookie (HttpOnly, SameSite=Lax, Secure outside DEBUG, a new key at every sign-in, so a
session id planted before the sign-in is worth nothing), and Django's session names the row.

On every request BrowserSessionMiddleware checks that row with the one query the API's authentication runs
(selectors.user_for_live_session). So a session ended anywhere (by the user on another device, by an operator
in the admin, by a password change or reset, a deactivation or a deletion, by its absolute or idle lifetime)
signs the browser out at its next request, as it stops an access token. The row's last use and idle deadline
move forward at most once a minute (TOUCH_INTERVAL): a refresh does that for an API client.

Sensitive pages (change the password or the address, delete the account, disconnect a provider) need the user
to have proven who they are recently, within SESSIONS_APP["RECENT_AUTHENTICATION_WINDOW"] of the sign-in or of
the last reauthentication (Session.authenticated_at); otherwise they go to the reauthentication page first.
"""
from datetime import timedelta
from functools import wraps
import time

from django.contrib import auth
from django.dispatch import receiver
from django.shortcuts import redirect, resolve_url
from django.utils.http import urlencode

from authcore.errors import ServiceError
from authcore.requestmeta import client_info

from .conf import app_settings
from .models import Session
from .selectors import proved_recently, signed_in_with_second_factor, user_for_live_session
from .services import end_session, touch_session

# What Django's session holds of a browser sign-in: the row's id, and when its use was last recorded.
SESSION_ID_KEY = "sessions_app_session_id"
TOUCHED_AT_KEY = "sessions_app_touched_at"
TOUCH_INTERVAL = timedelta(minutes=1)


def start_browser_session(request, *, user, session: Session) -> None:
    """Tie this browser to `session`, a browser-transport session just opened for `user` (a sign-in, or the new
    session a password change continues in). Django's login() gives the browser a new session key."""
    # The backend that proved the password (authenticate() names it on the user), or, for the session a
    # password change opens, the one this browser signed in with: Django needs it when there are several.
    backend = getattr(user, "backend", None) or request.session.get(auth.BACKEND_SESSION_KEY)
    auth.login(request, user, backend=backend)
    request.session[SESSION_ID_KEY] = str(session.id)
    request.session[TOUCHED_AT_KEY] = int(time.time())
    # The cookie lasts as long as the session can: its absolute lifetime.
    request.session.set_expiry(session.expires_at)
    request.user, request.browser_session_id = user, session.id


def forget_browser_session(request) -> None:
    """Sign this browser out: Django forgets the sign-in, and its session row ends (end_the_session_of_a_logout)."""
    auth.logout(request)
    request.browser_session_id = None


def browser_session_id(request):
    """The id of the live session this browser is signed in with, or None."""
    return getattr(request, "browser_session_id", None)


class BrowserSessionMiddleware:
    """Checks the session row of a browser sign-in on every request (after Django's AuthenticationMiddleware).
    A dead row signs the browser out; a live one is `request.user` (Django's own user lookup, a second query,
    is then never run) and `request.browser_session_id`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.browser_session_id = None
        # No session at all: a request the session middleware let by (a project's JSON API), signed in by nothing.
        session = getattr(request, "session", None)
        session_id = session.get(SESSION_ID_KEY) if session is not None else None
        if session_id is not None:
            self._check(request, session_id)
        return self.get_response(request)

    def _check(self, request, session_id) -> None:
        user = user_for_live_session(user_id=request.session.get(auth.SESSION_KEY, ""), session_id=session_id)
        if user is None or not user.is_active:
            if user is not None:
                # Deactivated by a path that left the session alive (raw SQL, say): end it now, as the API does.
                row = Session.objects.select_related("user").filter(pk=session_id).first()
                if row is not None:
                    end_session(session=row, reason=Session.RevokeReason.USER_DEACTIVATED)
            forget_browser_session(request)
            return
        request.user = request._cached_user = user
        request.browser_session_id = session_id
        now = int(time.time())
        if now - request.session.get(TOUCHED_AT_KEY, 0) >= TOUCH_INTERVAL.total_seconds():
            touch_session(session_id)
            request.session[TOUCHED_AT_KEY] = now


def redirect_to_login(next_path: str | None, page_url: str):
    """To the sign-in (or reauthentication) page, which comes back to `next_path` after (None: the page's own
    default, the account home)."""
    return redirect(f"{page_url}?{urlencode({'next': next_path})}" if next_path else page_url)


def _coming_back_to(request, return_to: str | None) -> str | None:
    """Where to come back after signing in or confirming the password: this page, for a GET; for an action that
    only takes a POST (a GET there would be refused), the page with its button, `return_to` (a URL name)."""
    if request.method == "GET":
        return request.get_full_path()
    return resolve_url(return_to) if return_to else None


def signed_in_page(view=None, *, return_to: str | None = None):
    """A page for a browser signed in with a live session: any other request goes to the sign-in page, which
    brings it back here (or to `return_to`, for an action that only takes a POST)."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if browser_session_id(request) is None:
                return redirect_to_login(_coming_back_to(request, return_to), resolve_url(app_settings.SIGN_IN_URL))
            return view(request, *args, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate


def to_reauthentication(request, return_to: str | None = None):
    """Send the browser to confirm its password, and back after (see _coming_back_to)."""
    return redirect_to_login(_coming_back_to(request, return_to), resolve_url(app_settings.REAUTHENTICATE_URL))


def authenticated_recently(request) -> bool:
    """Whether the user of this browser proved who they are within RECENT_AUTHENTICATION_WINDOW."""
    return proved_recently(user=request.user, session_id=browser_session_id(request))


def recent_authentication_page(view=None, *, return_to: str | None = None):
    """A sensitive page: signed in, and proven recently; otherwise the reauthentication page first, which
    brings the browser back here (or to `return_to`, for an action that only takes a POST). A POST that finds
    the window closed goes there too, and nothing is done. The flow checks the window again
    (services.require_recent_authentication): this only spares a form that would fail."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not authenticated_recently(request):
                return to_reauthentication(request, return_to)
            return view(request, *args, **kwargs)

        return signed_in_page(wrapper, return_to=return_to)

    return decorate(view) if view is not None else decorate


def multi_factor_page(view):
    """A page for a browser signed in with a second factor (the session's `amr` has "mfa"): anyone else gets the
    page of 403 `second_factor_required`, which says to turn two-step sign-in on and sign in again. Put it under
    `signed_in_page` (or use both), which sends a browser that is not signed in to sign in first."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not signed_in_with_second_factor(user=request.user, session_id=browser_session_id(request)):
            raise ServiceError("second_factor_required")
        return view(request, *args, **kwargs)

    return signed_in_page(wrapper)


@receiver(auth.user_logged_out)
def end_the_session_of_a_logout(sender, request, **kwargs) -> None:
    """Any logout of this browser (the account pages' sign-out, the admin's, a host project's own view, which
    all call django.contrib.auth.logout) ends its session row, before Django forgets which row it was: a
    signed-out browser leaves no live session behind in the lists."""
    session_id = request.session.get(SESSION_ID_KEY) if request is not None else None
    if session_id is None:
        return
    session = Session.objects.alive().select_related("user").filter(pk=session_id).first()
    if session is not None:
        end_session(session=session, reason=Session.RevokeReason.LOGOUT, client=client_info(request))
