"""The callback page: where the provider sends the browser back after the user allowed (or refused) access."""
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from authcore.errors import ServiceError
from authcore.requestmeta import client_info

from . import services
from .browser_binding import binding_from, clear_binding_cookie
from .conf import app_settings
from .forms import ProviderRedirectForm


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
    if app_settings.APP_URL:
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
