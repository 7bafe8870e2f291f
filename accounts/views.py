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

from . import second_factor
from .device_cookie import set_device_cookie
from .flows import email_change, not_me, passwords, registration, verification
from .forms import (
    ConfirmEmailChangeForm,
    EmailForm,
    NotMeForm,
    PasswordResetConfirmForm,
    RegisterForm,
    VerifyEmailForm,
)
from .tokens import password_reset_tokens, user_for_link_token

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


def _link_page(request, *, session_key: str, form_class, invalid, show, use, look=None, spend_first=True):
    """The page an emailed link leads to once its token is in the session (_stash_token), for every link:
    verify, reset, change email, "this wasn't me".

    GET only shows what a POST would do: mail scanners that prefetch links must change nothing
    (docs/security.md 28). `look(token, client)` is what the page shows of the link, looked at under the
    flow's own limits (so the page is no free oracle for links); None means the link no longer works. A
    POST goes straight to the flow, `use(request, token, client)`, with the same input form as the API's,
    fed from the session, never from the page. `spend_first`: the token leaves the session before it is
    used (a link works once); a form page that may be shown again (a refused password) keeps it until it
    succeeds. A link that does not work, or no longer does, is the `invalid(request)` page."""
    token = request.session.get(session_key)
    if not token:
        return invalid(request)
    client = client_info(request)
    if request.method == "GET":
        looked = look(token, client) if look is not None else True
        if looked is None or looked is False:
            request.session.pop(session_key, None)
            return invalid(request)
        return show(request, looked)
    if spend_first:
        del request.session[session_key]
    try:
        form = form_class({**(request.POST.dict() if not spend_first else {}), "token": token})
        if spend_first and not form.is_valid():
            return invalid(request)
        return use(request, form, client)
    except ServiceError as error:
        if error.code != "invalid_token":
            raise
        request.session.pop(session_key, None)
        return invalid(request)  # spent or expired since the page was shown


# --- registration ------------------------------------------------------------------------------------------
@account_page
def register(request):
    form = RegisterForm(request.POST or None)
    if (request.method == "POST" and form.is_valid()
            and _submit(form, registration.register, client=client_info(request), **form.cleaned_data)):
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
    def use(request, form, client):
        verification.verify_email(token=form.cleaned_data["token"], client=client)
        return render(request, "accounts/verify_email_done.html")

    return _link_page(request, session_key=VERIFY_TOKEN_SESSION_KEY, form_class=VerifyEmailForm,
                      invalid=lambda request: _invalid_link(request, purpose="verify"),
                      show=lambda request, _: render(request, "accounts/verify_email_confirm.html"), use=use)


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
    return _email_request_page(request, service=verification.resend_verification,
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
    def use(request, form, client):
        try:
            user = email_change.confirm_email_change(token=form.cleaned_data["token"], client=client)
        except ServiceError as error:
            if error.code != "email_taken":
                raise
            return render(request, "accounts/change_email_taken.html", status=error.status)
        return render(request, "accounts/change_email_done.html", {"new_email": user.email})

    # The page shows the address the link would confirm, so the user sees what they accept.
    return _link_page(request, session_key=EMAIL_CHANGE_TOKEN_SESSION_KEY, form_class=ConfirmEmailChangeForm,
                      invalid=lambda request: _invalid_link(request, purpose="change_email"),
                      look=lambda token, client: email_change.pending_email_for_token(token, client=client),
                      show=lambda request, pending: render(request, "accounts/change_email_confirm.html",
                                                           {"new_email": pending}), use=use)


# --- password reset ----------------------------------------------------------------------------------------
@account_page
def password_reset(request):
    return _email_request_page(request, service=passwords.request_password_reset,
                               done="accounts:password-reset-sent", template="accounts/password_reset.html")


@account_page
def password_reset_sent(request):
    return _check_email(request, purpose="reset")


@account_page
def password_reset_link(request, token: str):
    return _stash_token(request, token, session_key=RESET_TOKEN_SESSION_KEY, then="accounts:password-reset-set")


@account_page
def password_reset_set(request):
    def use(request, form, client):
        if not form.is_valid():
            return render(request, "accounts/password_reset_set.html", {"form": form})
        try:
            reset = passwords.confirm_password_reset(client=client, **form.cleaned_data)
        except ServiceError as error:
            if error.code != "invalid":
                raise
            form.add_service_error(error)  # the password policy: shown next to the field
            user = user_for_link_token(password_reset_tokens, form.cleaned_data["token"])  # looked at just now
            return render(request, "accounts/password_reset_set.html", {
                "form": form, "passkey_reset_url": user and second_factor.passkey_reset_url_for(user)})
        request.session.pop(RESET_TOKEN_SESSION_KEY, None)
        response = redirect("accounts:password-reset-done")
        set_device_cookie(response, reset.device_token)  # the mailbox was proven: one of the owner's devices
        return response

    return _link_page(request, session_key=RESET_TOKEN_SESSION_KEY, form_class=PasswordResetConfirmForm,
                      invalid=lambda request: _invalid_link(request, purpose="reset"),
                      look=lambda token, client: passwords.password_reset_user(token, client=client),
                      show=lambda request, user: render(
                          request, "accounts/password_reset_set.html",
                          {"form": PasswordResetConfirmForm(),
                           "passkey_reset_url": second_factor.passkey_reset_url_for(user)}),
                      use=use, spend_first=False)


@account_page
def password_reset_done(request):
    return render(request, "accounts/password_reset_done.html")


# --- "this wasn't me": the link of a new sign-in alert (accounts/flows/not_me.py) -------------------------
NOT_ME_TOKEN_SESSION_KEY = "accounts_not_me_token"


@account_page
def not_me_link(request, token: str):
    if not NotMeForm({"token": token}).is_valid():  # not a link we sent: nothing worth keeping in the session
        return _not_me_invalid(request)
    return _stash_token(request, token, session_key=NOT_ME_TOKEN_SESSION_KEY, then="accounts:not-me-confirm")


def _not_me_invalid(request):
    return render(request, "accounts/not_me_invalid.html", status=400)


@account_page
def not_me_confirm(request):
    def use(request, form, client):
        not_me.report_unrecognised_sign_in(token=form.cleaned_data["token"], client=client)
        return redirect("accounts:password-reset")  # whoever signed in knows the password

    # The page shows what would be ended, and one button.
    return _link_page(request, session_key=NOT_ME_TOKEN_SESSION_KEY, form_class=NotMeForm, invalid=_not_me_invalid,
                      look=lambda token, client: not_me.session_to_report(token, client=client),
                      show=lambda request, session: render(request, "accounts/not_me_confirm.html",
                                                           {"session": session}), use=use)
