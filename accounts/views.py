"""Browser pages for the account lifecycle: register, verify the email address, reset the password.

They work without JavaScript and call the same service functions as the REST API (accounts/api/views.py),
whose flows apply the rules (rate limits included); the forms only check the shape of the input.
"""
from functools import wraps

from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from authcore.errors import ServiceError
from authcore.requestmeta import client_info

from . import login_throttle, services
from .device_cookie import set_device_cookie
from .forms import EmailForm, PasswordResetConfirmForm, RegisterForm, VerifyEmailForm

VERIFY_TOKEN_SESSION_KEY = "accounts_verify_email_token"
RESET_TOKEN_SESSION_KEY = "accounts_password_reset_token"


# Errors that mean "not now": a spent rate limit (429), the rate-limit cache unreachable (503).
TRY_AGAIN_PAGES = {"rate_limited": "accounts/rate_limited.html", "service_unavailable": "accounts/unavailable.html"}


def account_page(view):
    """A CSRF-checked GET/POST page that is never cached, with a 429 page for rate limits.

    Referrer policy: an emailed link's URL carries a credential, so its response says "no-referrer"
    (docs/security.md 32) and only moves the token into the session, redirecting to a token-less page. The form
    pages say "same-origin": with "no-referrer" browsers send `Origin: null` on the form's POST, which
    Django's CSRF check rightly refuses; their URLs hold no token, and no Referer leaves the site."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            response = view(request, *args, **kwargs)
        except ServiceError as error:
            if error.code not in TRY_AGAIN_PAGES:
                raise
            response = render(request, TRY_AGAIN_PAGES[error.code], {"retry_after": error.retry_after},
                              status=error.status)
            response["Retry-After"] = str(error.retry_after)
        response["Referrer-Policy"] = "no-referrer" if "token" in kwargs else "same-origin"
        return response

    return require_http_methods(["GET", "POST"])(never_cache(csrf_protect(wrapper)))


def _submit(form, service, **kwargs) -> bool:
    """Call `service`; its validation errors (password policy, taken address) go next to the form's fields."""
    try:
        service(**kwargs)
    except ServiceError as error:
        if error.code != "invalid":
            raise
        form.add_service_error(error)
        return False
    return True


def _invalid_link(request, *, purpose: str):
    return render(request, "accounts/link_invalid.html", {"purpose": purpose}, status=400)


def _check_email(request, *, purpose: str):
    return render(request, "accounts/check_email.html", {"purpose": purpose})


def _stash_token(request, token: str, *, session_key: str, then: str):
    """The emailed link: the token moves into the session and the browser goes on to a URL without it,
    so it cannot leak through history, Referer headers or scripts on the page that uses it."""
    request.session[session_key] = token
    return redirect(then)


# --- registration ------------------------------------------------------------------------------------------
@account_page
def register(request):
    form = RegisterForm(request.POST or None)
    if (request.method == "POST" and form.is_valid()
            and _submit(form, services.register, client=client_info(request), **form.cleaned_data)):
        return redirect("accounts:register-sent")
    return render(request, "accounts/register.html", {"form": form})


@account_page
def register_sent(request):
    return _check_email(request, purpose="register")


# --- email verification ------------------------------------------------------------------------------------
@account_page
def verify_email_link(request, token: str):
    return _stash_token(request, token, session_key=VERIFY_TOKEN_SESSION_KEY, then="accounts:verify-email-confirm")


@account_page
def verify_email_confirm(request):
    # GET only shows a button: mail scanners that prefetch links must not verify anybody (docs/security.md 28).
    token = request.session.get(VERIFY_TOKEN_SESSION_KEY)
    if not token:
        return _invalid_link(request, purpose="verify")
    if request.method == "POST":
        del request.session[VERIFY_TOKEN_SESSION_KEY]
        form = VerifyEmailForm({"token": token})  # the same input as the API's, from the session
        try:
            if not form.is_valid():
                return _invalid_link(request, purpose="verify")
            services.verify_email(token=form.cleaned_data["token"], client=client_info(request))
        except ServiceError as error:
            if error.code != "invalid_token":
                raise
            return _invalid_link(request, purpose="verify")
        return render(request, "accounts/verify_email_done.html")
    return render(request, "accounts/verify_email_confirm.html")


def _email_request_page(request, *, service, done: str, template: str):
    """A form that takes only an email address and answers the same for any address (resend
    verification, request a reset): call the service, go to the "check your email" page."""
    form = EmailForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        service(email=form.cleaned_data["email"], client=client_info(request))
        return redirect(done)
    return render(request, template, {"form": form})


@account_page
def resend_verification(request):
    return _email_request_page(request, service=services.resend_verification,
                               done="accounts:verify-email-resent", template="accounts/resend_verification.html")


@account_page
def verification_resent(request):
    return _check_email(request, purpose="verify")


# --- password reset ----------------------------------------------------------------------------------------
@account_page
def password_reset(request):
    return _email_request_page(request, service=services.request_password_reset,
                               done="accounts:password-reset-sent", template="accounts/password_reset.html")


@account_page
def password_reset_sent(request):
    return _check_email(request, purpose="reset")


@account_page
def password_reset_link(request, token: str):
    return _stash_token(request, token, session_key=RESET_TOKEN_SESSION_KEY, then="accounts:password-reset-set")


@account_page
def password_reset_set(request):
    token = request.session.get(RESET_TOKEN_SESSION_KEY)
    if not token or not services.password_reset_token_is_valid(token):
        request.session.pop(RESET_TOKEN_SESSION_KEY, None)
        return _invalid_link(request, purpose="reset")
    # The same input as the API's; the token comes from the session, never from the page.
    form = PasswordResetConfirmForm({**request.POST.dict(), "token": token} if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.confirm_password_reset(client=client_info(request), **form.cleaned_data)
        except ServiceError as error:
            if error.code == "invalid":  # the password policy: shown next to the field
                form.add_service_error(error)
                return render(request, "accounts/password_reset_set.html", {"form": form})
            if error.code != "invalid_token":
                raise
            request.session.pop(RESET_TOKEN_SESSION_KEY, None)
            return _invalid_link(request, purpose="reset")  # spent or expired since the page was shown
        request.session.pop(RESET_TOKEN_SESSION_KEY, None)
        response = redirect("accounts:password-reset-done")
        # The mailbox was proven: this browser is one of the owner's devices (accounts/login_throttle.py).
        set_device_cookie(response, login_throttle.device_token_for(user))
        return response
    return render(request, "accounts/password_reset_set.html", {"form": form})


@account_page
def password_reset_done(request):
    return render(request, "accounts/password_reset_done.html")
