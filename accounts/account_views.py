"""The pages of a signed-in account: sign in and out, the account home (name, language), the sessions, change
the password or the address, confirm the password, delete the account, download its data.

A sign-in here is a session like any other (sessions_app/browser.py): the page calls the login flow every
client calls, with the same throttle, lockout, device cookie and new-device alert, and the browser then holds
Django's session cookie naming the session's row. Every action calls the flow the API calls; a refused one the
page does not answer itself (a spent rate limit, ...) becomes a page of the error's status (authcore.pages).
"""
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from authcore.errors import ServiceError
from authcore.requestmeta import client_info
from sessions_app import selectors, services
from sessions_app.browser import (
    browser_session_id,
    forget_browser_session,
    recent_authentication_page,
    signed_in_page,
    start_browser_session,
    to_reauthentication,
)
from sessions_app.models import Session
from sessions_app.tokens import readable_device_label

from . import events, second_factor
from .api.serializers import AccountExportSerializer
from .device_cookie import device_token_from, set_device_cookie
from .flows import deletion, email_change, login, passwords, profile, reauthentication
from .flows.export import export_account_data
from .forms import (
    ChangePasswordForm,
    ConfirmPasswordForm,
    DeleteAccountConfirmationForm,
    NewEmailForm,
    PageReauthenticateForm,
    ProfileForm,
    SecondStepForm,
    SetPasswordForm,
    SignInForm,
)
from .second_factor import FactorAnswer
from .views import account_page

SIGNED_OUT = _("You are signed out.")
PROFILE_SAVED = _("Your changes are saved.")
PASSWORD_CHANGED = _("Your password is changed. Every other session of your account has been signed out.")
EMAIL_CHANGE_SENT = _("We sent a link to %(email)s. Your address changes when you follow it.")
SESSION_ENDED = _("That session is signed out.")
OTHER_SESSIONS_ENDED = _("Every other session is signed out.")
SIGNED_OUT_GUESSES = _("Too many wrong passwords: this session has been signed out. Sign in again.")
NEXT_MAX_LENGTH = 2000
ACCOUNT_DELETED_KEY = "accounts_account_deleted"
# The token of a sign-in waiting for its second step, in the browser's Django session (to_second_step).
SECOND_STEP_KEY = "accounts_second_step"
SECOND_STEP_METHODS_KEY = "accounts_second_step_methods"  # what the step's page offers (a security key, ...)


def safe_next(request) -> str | None:
    """Where to go after signing in or confirming the password: a path of this site only (never another host,
    a scheme-relative "//host" or a backslash trick), as the form or the address gave it."""
    value = request.POST.get("next") or request.GET.get("next") or ""
    if (not value or len(value) > NEXT_MAX_LENGTH or not value.startswith("/") or value.startswith("//")
            or "\\" in value
            or not url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure())):
        return None
    return value


# --- sign in, sign out --------------------------------------------------------------------------------------
@account_page
def sign_in(request):
    next_url = safe_next(request)
    if browser_session_id(request) is not None:
        return redirect(next_url or "accounts:account")
    form = SignInForm(request.POST or None)
    unverified = False
    if request.method == "POST" and form.is_valid():
        try:
            result = login.log_in(email=form.cleaned_data["email"], password=form.cleaned_data["password"],
                                  client=client_info(request), device_token=device_token_from(request),
                                  request=request, transport=Session.Transport.BROWSER)
        except ServiceError as error:
            if error.code == "mfa_required":
                return to_second_step(request, error.data["mfa_token"], next_url, error.data["methods"])
            if error.code not in ("invalid_credentials", "email_not_verified"):
                raise  # a spent limit, a locked account: the page of its status, with Retry-After
            # The same words as the API's, for an unknown address and a wrong password alike.
            form.add_error(None, error.message)
            unverified = error.code == "email_not_verified"
        else:
            return _signed_in(request, result, next_url)
    return render(request, "accounts/sign_in.html", {"form": form, "next": next_url, "unverified": unverified})


def _signed_in(request, result: login.LoginResult, next_url: str | None):
    start_browser_session(request, user=result.user, session=result.tokens.session)
    response = redirect(next_url or "accounts:account")
    set_device_cookie(response, result.device_token)
    return response


def to_second_step(request, mfa_token: str, next_url: str | None, methods: list[str]):
    """The password held for an account with a second factor: the browser keeps the step's token in its (not yet
    signed-in) Django session, never in a page or an address, and goes on to the second step."""
    request.session[SECOND_STEP_KEY] = mfa_token
    request.session[SECOND_STEP_METHODS_KEY] = methods
    url = reverse("accounts:login-second-step")
    return redirect(f"{url}?{urlencode({'next': next_url})}" if next_url else url)


@account_page
def sign_in_second_step(request):
    """The second step of signing in: a code of the authenticator app, or a recovery code."""
    next_url = safe_next(request)
    mfa_token = request.session.get(SECOND_STEP_KEY)
    if browser_session_id(request) is not None:
        return redirect(next_url or "accounts:account")
    if not mfa_token:
        return redirect("accounts:login")
    form = SecondStepForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = login.complete_second_step(mfa_token=mfa_token, client=client_info(request),
                                                answer=_answer(form.cleaned_data))
        except ServiceError as error:
            if error.code == "mfa_token_invalid":
                request.session.pop(SECOND_STEP_KEY, None)
                messages.error(request, error.message)
                return redirect("accounts:login")
            if error.code != "mfa_code_incorrect":
                raise
            form.add_error("code", error.message)
        else:
            request.session.pop(SECOND_STEP_KEY, None)
            request.session.pop(SECOND_STEP_METHODS_KEY, None)
            return _signed_in(request, result, next_url)
    return render(request, "accounts/sign_in_second_step.html", {
        "form": form, "next": next_url, "methods": request.session.get(SECOND_STEP_METHODS_KEY, [])})


def _answer(cleaned: dict) -> FactorAnswer:
    """What the page's form gave: a security key's answer (from the page's script), or one typed code."""
    if cleaned.get("webauthn"):
        return FactorAnswer(webauthn=cleaned["webauthn"])
    return FactorAnswer.from_typed(cleaned.get("code") or "")


@require_POST
@account_page
def sign_in_second_step_options(request):
    """Security-key options for the page's second step (its script asks for them)."""
    mfa_token = request.session.get(SECOND_STEP_KEY) or ""
    return JsonResponse(login.second_step_options(mfa_token=mfa_token, client=client_info(request)))


@require_POST
@account_page
def sign_out(request):
    forget_browser_session(request)  # its session row ends with it
    messages.success(request, SIGNED_OUT)
    return redirect("accounts:login")


# --- the account home ----------------------------------------------------------------------------------------
@account_page
@signed_in_page
def account(request):
    user = request.user
    form = ProfileForm(request.POST or None, initial={"name": user.name, "language": user.language})
    if request.method == "POST" and form.is_valid():
        profile.update_profile(user=user, client=client_info(request), **form.cleaned_data)
        messages.success(request, PROFILE_SAVED)
        return redirect("accounts:account")
    return render(request, "accounts/account.html", {"form": form})


# --- sessions ------------------------------------------------------------------------------------------------
@account_page
@signed_in_page
def session_list(request):
    """The user's live sessions, a page at a time (newest sign-in first; `?cursor=` as the page's links give it,
    a 400 page for any other value)."""
    current = str(browser_session_id(request))
    page = selectors.live_sessions_page(request.user, cursor=request.GET.get("cursor"))
    for session in page.sessions:
        session.is_current = str(session.id) == current
        session.label = readable_device_label(session.user_agent)  # in the reader's language
    return render(request, "accounts/sessions.html", {
        "sessions": page.sessions,
        "older_url": "?" + urlencode({"cursor": page.older}) if page.older else "",
        "newer_url": "?" + urlencode({"cursor": page.newer}) if page.newer else "",
    })


@require_POST
@account_page
@signed_in_page(return_to="accounts:sessions")
def end_session(request, session_id):
    session = selectors.live_session_for_user(request.user, session_id)
    if session is None:  # already ended, or not this user's: nothing to do, nothing to say
        return redirect("accounts:sessions")
    services.end_session(session=session, reason=Session.RevokeReason.ENDED_BY_USER, client=client_info(request))
    if str(session_id) == str(browser_session_id(request)):
        forget_browser_session(request)
        messages.success(request, SIGNED_OUT)
        return redirect("accounts:login")
    messages.success(request, SESSION_ENDED)
    return redirect("accounts:sessions")


@require_POST
@account_page
@signed_in_page(return_to="accounts:sessions")
def end_other_sessions(request):
    services.end_user_sessions(user=request.user, reason=Session.RevokeReason.LOGOUT_OTHERS,
                               client=client_info(request), keep_session_id=browser_session_id(request))
    messages.success(request, OTHER_SESSIONS_ENDED)
    return redirect("accounts:sessions")


# --- confirm the password (the one reauthentication flow) -------------------------------------------------
@account_page
@signed_in_page
def reauthenticate(request):
    """Confirm who you are: the password, or for an account with a second factor a code of it instead; only a code
    when the action asks for a factor (`factor=1`: changing the factors themselves)."""
    next_url = safe_next(request)
    has_factor = bool(second_factor.methods_for(request.user))
    # In the address, which the form posts back to (it has no action of its own).
    # Only a code when asked (`factor=1`), or for an account without a password (it has none to give).
    factor_only = has_factor and (request.GET.get("factor") == "1" or not request.user.has_usable_password())
    form_class = SecondStepForm if factor_only else PageReauthenticateForm if has_factor else ConfirmPasswordForm
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        password = form.cleaned_data.get("password") or None
        try:
            reauthentication.reauthenticate(
                user=request.user, session_id=browser_session_id(request), client=client_info(request),
                proof=reauthentication.Proof(password=password,
                                             factor=None if password is not None else _answer(form.cleaned_data)),
                failure_event=events.REAUTH_FAIL)
        except ServiceError as error:
            if error.code == "session_ended":
                return _signed_out_for_guesses(request)
            if error.code not in ("password_incorrect", "mfa_code_incorrect"):
                raise
            form.add_error("password" if error.code == "password_incorrect" else "code", error.message)
        else:
            return redirect(next_url or "accounts:account")
    return render(request, "accounts/reauthenticate.html", {
        "form": form, "next": next_url, "factor_only": factor_only, "has_factor": has_factor,
        "methods": second_factor.methods_for(request.user) if has_factor else []})


@require_POST
@account_page
@signed_in_page
def reauthenticate_options(request):
    """Security-key options for the confirmation page (its script asks for them)."""
    return JsonResponse(reauthentication.reauthentication_options(user=request.user, client=client_info(request)))


def _confirm_with_factor(*, return_to: str):
    """To the confirmation page, asking for a second factor (a password is no proof here), and back."""
    return redirect(f"{reverse('accounts:reauthenticate')}?{urlencode({'next': reverse(return_to), 'factor': '1'})}")


def _signed_out_for_guesses(request):
    forget_browser_session(request)
    messages.error(request, SIGNED_OUT_GUESSES)
    return redirect("accounts:login")


def _refused(request, form, error: ServiceError):
    """A sensitive flow refused: its validation errors (the password policy, the address) go next to the
    form's fields (None: show the form again); a recent-authentication window that closed since the page was
    shown sends the browser to confirm its password; anything else is the page of its status."""
    if error.code == "reauthentication_required":
        return to_reauthentication(request)
    if error.code != "invalid":
        raise error
    form.add_service_error(error)
    return None


# --- change the password, change the address, delete the account --------------------------------------------
@account_page
@signed_in_page
def change_password(request):
    """Asks for the current password on the form itself, whenever the user signed in: a password change is
    the one sensitive action where the recent-sign-in window does not stand in for it. An account without a
    password (passkeys only) sets one after confirming who it is with a factor (the flow asks for it)."""
    has_password = request.user.has_usable_password()
    if not has_password and not selectors.reauthenticated_recently(user=request.user,
                                                                   session_id=browser_session_id(request),
                                                                   with_factor=True):
        return _confirm_with_factor(return_to="accounts:password-change")
    form = (ChangePasswordForm if has_password else SetPasswordForm)(request.POST or None)
    if has_password:
        form.fields["current_password"].required = True
    if request.method == "POST" and form.is_valid():
        try:
            changed = passwords.change_password(
                user=request.user, session_id=browser_session_id(request),
                current_password=form.cleaned_data.get("current_password"),
                new_password=form.cleaned_data["new_password"], client=client_info(request),
                device_token=device_token_from(request))
        except ServiceError as error:
            if error.code == "session_ended":
                return _signed_out_for_guesses(request)
            if error.code == "password_incorrect":
                form.add_error("current_password", error.message)
            elif error.code == "reauthentication_required" and not has_password:
                return _confirm_with_factor(return_to="accounts:password-change")
            elif (refused := _refused(request, form, error)) is not None:
                return refused
        else:
            # Every session ended, this one too; the browser continues in the new one the flow opened.
            start_browser_session(request, user=request.user, session=changed.tokens.session)
            messages.success(request, PASSWORD_CHANGED)
            response = redirect("accounts:account")
            set_device_cookie(response, changed.device_token)
            return response
    return render(request, "accounts/change_password.html", {"form": form, "has_password": has_password})


@account_page
@recent_authentication_page
def change_email(request):
    form = NewEmailForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        new_email = form.cleaned_data["new_email"]
        try:
            email_change.request_email_change(user=request.user, password=None, new_email=new_email,
                                              client=client_info(request), session_id=browser_session_id(request))
        except ServiceError as error:
            if (refused := _refused(request, form, error)) is not None:
                return refused
        else:
            # The same words whether or not the address is free (another account's owner is told instead).
            messages.success(request, EMAIL_CHANGE_SENT % {"email": new_email})
            return redirect("accounts:account")
    return render(request, "accounts/change_email.html", {"form": form})


@account_page
@recent_authentication_page
def delete_account(request):
    form = DeleteAccountConfirmationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            deletion.delete_account(user=request.user, password=None, client=client_info(request),
                                    session_id=browser_session_id(request))
        except ServiceError as error:
            if (refused := _refused(request, form, error)) is not None:
                return refused
        else:
            forget_browser_session(request)
            # Shown once, by a redirect (a reload must not post the form again).
            request.session[ACCOUNT_DELETED_KEY] = True
            return redirect("accounts:deleted")
    return render(request, "accounts/delete_account.html", {"form": form})


@account_page
def account_deleted(request):
    if not request.session.pop(ACCOUNT_DELETED_KEY, False):
        return redirect("accounts:login")
    return render(request, "accounts/account_deleted.html")


# --- download my data ------------------------------------------------------------------------------------------
@require_POST
@account_page
@signed_in_page(return_to="accounts:account")
def export(request):
    """The export of the API (GET /api/auth/me/export/), the same document, as a file to save. A POST: it is
    rate limited and audited, so no link or image of another site can spend it."""
    data = export_account_data(user=request.user, session_id=browser_session_id(request),
                               client=client_info(request))
    response = JsonResponse(AccountExportSerializer(data).data, json_dumps_params={"indent": 2})
    response["Content-Disposition"] = 'attachment; filename="account-data.json"'
    return response
