"""The browser pages of connected accounts: the list on the account pages (connect, disconnect), and the
callback page where the provider sends the browser back after the user allowed (or refused) access."""
from functools import wraps

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from authcore.errors import ServiceError
from authcore.requestmeta import client_info
from sessions_app.browser import browser_session_id, recent_authentication_page, signed_in_page

from . import services
from .browser_binding import binding_from, clear_binding_cookie, set_binding_cookie
from .conf import app_settings
from .forms import ProviderRedirectForm
from .models import Connection
from .providers import provider_names

# Django's session remembers which provider a connection started on the list page is for: the callback
# then comes back to the list rather than to the application (APP_URL).
STARTED_ON_PAGE_KEY = "connections_started_on_page"
CONNECTED = _("Your %(provider)s account is connected.")
DISCONNECTED = _("Your %(provider)s account is disconnected.")
NOT_CONNECTED = _("Nothing was connected: %(reason)s")


def connections_page(view):
    """A signed-in, CSRF-checked page that is never cached and, with no token in its address, sends no
    Referer off the site."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = "same-origin"
        return response

    return require_http_methods(["GET", "POST"])(never_cache(csrf_protect(wrapper)))


@connections_page
@signed_in_page
def connection_list(request):
    """Each configured provider, connected or not, and connections to providers no longer configured (whose
    tokens can still be deleted)."""
    connected = {connection.provider: connection for connection in services.list_connections(user=request.user)
                 if connection.status != Connection.Status.REVOKED}
    names = sorted(set(provider_names()) | set(connected))
    rows = [{"provider": name, "connection": connected.get(name), "configured": name in provider_names()}
            for name in names]
    return render(request, "connections/list.html", {"rows": rows})


@require_POST
@connections_page
@signed_in_page(return_to="connections:list")
def connect(request, provider: str):
    """Start connecting: on to the provider, whose answer comes back to the callback page in this browser.

    Not a redirect: the pages' CSP allows forms to submit only to this site (form-action 'self'), which
    browsers apply to a form's redirects too. A page that moves on at once (a meta refresh, no script) and
    offers the link is a new navigation, which that rule does not govern."""
    started = services.start_connection(user=request.user, provider_name=provider, client=client_info(request))
    request.session[STARTED_ON_PAGE_KEY] = provider
    response = render(request, "connections/continue.html",
                      {"provider": provider, "authorization_url": started.authorization_url})
    set_binding_cookie(response, provider, started)
    return response


@require_POST
@connections_page
@recent_authentication_page(return_to="connections:list")
def disconnect(request, provider: str):
    services.disconnect(user=request.user, provider_name=provider, client=client_info(request),
                        recently_proven_session=browser_session_id(request))
    messages.success(request, DISCONNECTED % {"provider": provider})
    return redirect("connections:list")


@never_cache
@require_GET
def callback(request, provider: str):
    """Complete the connection started in this browser, then go back to the app (APP_URL, with
    `connected=<provider>` or `connection_error=<code>`), or say what happened here."""
    form = ProviderRedirectForm(request.GET)
    try:
        if not form.is_valid():
            raise ServiceError("invalid_state")
        services.complete_connection(provider_name=provider, client=client_info(request),
                                     browser_binding=binding_from(request, provider), **form.cleaned_data)
        outcome, status = {"connected": provider}, 200
    except ServiceError as error:
        if error.code in ("rate_limited", "service_unavailable"):
            # Refused before the attempt was looked at (the limit comes first), so it may still complete
            # and its cookie stays: the page of the error's own status, 429 or 503 with Retry-After
            # (authcore.pages).
            raise
        outcome, status = {"connection_error": error.code}, error.status
    if request.session.get(STARTED_ON_PAGE_KEY) == provider and outcome.get("connection_error") != "invalid_state":
        # Started on the list page: back there, with the outcome as a message.
        del request.session[STARTED_ON_PAGE_KEY]
        if "connected" in outcome:
            messages.success(request, CONNECTED % {"provider": provider})
        else:
            messages.error(request, NOT_CONNECTED % {"reason": ServiceError(outcome["connection_error"]).message})
        response = redirect("connections:list")
    elif app_settings.APP_URL:
        separator = "&" if "?" in app_settings.APP_URL else "?"
        response = redirect(f"{app_settings.APP_URL}{separator}{urlencode(outcome)}")
    else:
        response = render(request, "connections/callback.html", {"provider": provider, **outcome}, status=status)
    if outcome.get("connection_error") != "invalid_state":
        # The attempt was this browser's and is over. A stray link to this page (any site can send one)
        # must not clear the cookie of an attempt still in progress.
        clear_binding_cookie(response, provider)
    # The URL carries the authorization code: no Referer with it to wherever the page links.
    response["Referrer-Policy"] = "no-referrer"
    return response
