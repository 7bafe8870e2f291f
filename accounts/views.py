"""Browser pages for the account lifecycle: register, verify the email address, reset the password, confirm
a new email address.

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

from . import login_throttle, notifications, self_service, services
from .device_cookie import set_device_cookie
from .forms import (
    ConfirmEmailChangeForm,
    EmailForm,
    NotMeForm,
    PasswordResetConfirmForm,
    RegisterForm,
    VerifyEmailForm,
)

VERIFY_TOKEN_SESSION_KEY = "accounts_verify_email_token"
RESET_TOKEN_SESSION_KEY = "accounts_password_reset_token"
EMAIL_CHANGE_TOKEN_SESSION_KEY = "accounts_email_change_token"


def account_page(view):
    """A CSRF-checked GET/POST page that is never cached. A service error it does not answer itself (a spent
    rate limit, the limiter's cache unreachable, ...) becomes a page with the error's status
    (authcore.pages).

    Referrer policy: an emailed link's URL carries a credential, so its response says "no-referrer"
    (docs/security.md 32) and only moves the token into the session, redirecting to a token-less page. The form
    pages say "same-origin": with "no-referrer" browsers send `Origin: null` on the form's POST, which
    Django's CSRF check rightly refuses; their URLs hold no token, and no Referer leaves the site."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
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


# --- email change ------------------------------------------------------------------------------------------
@account_page
def change_email_link(request, token: str):
    return _stash_token(request, token, session_key=EMAIL_CHANGE_TOKEN_SESSION_KEY,
                        then="accounts:change-email-confirm")


@account_page
def change_email_confirm(request):
    # GET only shows a button (and only for a link that still works): mail scanners that prefetch links
    # must not change anybody's address.
    # The link is looked at only to show the page; a POST goes straight to the flow, which checks it again
    # (both count against the flow's limits, so the page is no free oracle for links).
    token = request.session.get(EMAIL_CHANGE_TOKEN_SESSION_KEY)
    pending = (self_service.pending_email_for_token(token, client=client_info(request))
               if token and request.method == "GET" else None)
    if not token or (request.method == "GET" and pending is None):
        request.session.pop(EMAIL_CHANGE_TOKEN_SESSION_KEY, None)
        return _invalid_link(request, purpose="change_email")
    if request.method == "POST":
        del request.session[EMAIL_CHANGE_TOKEN_SESSION_KEY]
        form = ConfirmEmailChangeForm({"token": token})  # the same input as the API's, from the session
        try:
            if not form.is_valid():
                return _invalid_link(request, purpose="change_email")
            user = self_service.confirm_email_change(token=form.cleaned_data["token"], client=client_info(request))
        except ServiceError as error:
            if error.code == "email_taken":
                return render(request, "accounts/change_email_taken.html", status=error.status)
            if error.code != "invalid_token":
                raise
            return _invalid_link(request, purpose="change_email")
        return render(request, "accounts/change_email_done.html", {"new_email": user.email})
    return render(request, "accounts/change_email_confirm.html", {"new_email": pending})


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
    # Looked at to show the form; a POST goes straight to the flow, which checks the link again.
    if not token or (request.method == "GET"
                     and not services.password_reset_token_is_valid(token, client=client_info(request))):
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


# --- "this wasn't me": the link of a new sign-in alert (accounts/notifications.py) -------------------------
NOT_ME_TOKEN_SESSION_KEY = "accounts_not_me_token"


@account_page
def not_me_link(request, token: str):
    if not NotMeForm({"token": token}).is_valid():  # not a link we sent: nothing worth keeping in the session
        return render(request, "accounts/not_me_invalid.html", status=400)
    return _stash_token(request, token, session_key=NOT_ME_TOKEN_SESSION_KEY, then="accounts:not-me-confirm")


@account_page
def not_me_confirm(request):
    # GET only shows what would be ended and one button: mail scanners that prefetch links must not end
    # anybody's session. POST ends it at once and sends the user on to reset the password.
    token = request.session.get(NOT_ME_TOKEN_SESSION_KEY)
    session = (notifications.session_to_report(token, client=client_info(request))
               if token and request.method == "GET" else None)
    if not token or (request.method == "GET" and session is None):
        request.session.pop(NOT_ME_TOKEN_SESSION_KEY, None)
        return render(request, "accounts/not_me_invalid.html", status=400)
    if request.method == "POST":
        del request.session[NOT_ME_TOKEN_SESSION_KEY]
        form = NotMeForm({"token": token})  # the same input as the API's, from the session
        try:
            if not form.is_valid():
                return render(request, "accounts/not_me_invalid.html", status=400)
            notifications.report_unrecognised_sign_in(token=form.cleaned_data["token"], client=client_info(request))
        except ServiceError as error:
            if error.code != "invalid_token":
                raise
            return render(request, "accounts/not_me_invalid.html", status=400)  # used since the page was shown
        return redirect("accounts:password-reset")
    return render(request, "accounts/not_me_confirm.html", {"session": session})
