"""The pages of second factors (/accounts/mfa/): see them, set up an authenticator app with its QR code, make new
recovery codes, remove the app. Every change calls mfa.flows, which asks for a recent proof in this browser's
session; when it is missing the browser goes to confirm who it is (with a factor, once the account has one) and
comes back. Recovery codes are shown in the answer that made them, once, and never stored where a page could show
them again."""
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.account_views import safe_next
from accounts.device_cookie import device_token_from, set_device_cookie
from accounts.flows import passwords
from accounts.second_factor import FactorAnswer
from accounts.tokens import password_reset_tokens, user_for_link_token
from accounts.views import RESET_TOKEN_SESSION_KEY, account_page
from authcore.errors import ServiceError
from authcore.requestmeta import client_info
from sessions_app.browser import browser_session_id, signed_in_page, start_browser_session
from sessions_app.conf import app_settings as sessions_settings
from sessions_app.models import Session

from . import flows
from .forms import AddSecurityKeyForm, ConfirmTotpForm, PasskeyLoginForm, ResetWithPasskeyForm

APP_REMOVED = _("The authenticator app is removed.")
KEY_ADDED = _("Your security key or passkey is added.")
KEY_REMOVED = _("The security key or passkey is removed.")
KEY_REFUSED = _("The security key's answer could not be accepted. Try again.")
PASSKEY_REFUSED = _("That passkey could not sign you in. Sign in with your password.")
PASSWORD_REMOVED = _("Your password is removed: you sign in with your passkeys.")


def _confirm_first(request, *, with_factor: bool):
    """To the page that confirms who the user is, and back to the factors' page."""
    query = {"next": reverse("mfa:manage"), **({"factor": "1"} if with_factor else {})}
    return redirect(f"{resolve_url(sessions_settings.REAUTHENTICATE_URL)}?{urlencode(query)}")


def _refused(request, error: ServiceError):
    if error.code == "reauthentication_required":
        return _confirm_first(request, with_factor=flows.has_second_factor(request.user))
    if error.code in ("mfa_not_enabled", "totp_already_enabled", "totp_not_started", "webauthn_invalid",
                      "not_found", "last_passkey", "passkey_required", "password_not_set"):
        messages.error(request, error.message)
        return redirect("mfa:manage")
    raise error


@account_page
@signed_in_page
def manage(request):
    return render(request, "mfa/manage.html", {"status": flows.status(request.user),
                                               "has_password": request.user.has_usable_password()})


@require_POST
@account_page
@signed_in_page(return_to="mfa:manage")
def start_totp(request):
    try:
        flows.start_totp(user=request.user, session_id=browser_session_id(request), client=client_info(request))
    except ServiceError as error:
        return _refused(request, error)
    return redirect("mfa:totp")


@account_page
@signed_in_page(return_to="mfa:manage")
def totp(request):
    """The QR code of the app being set up, and the form that confirms it with a code."""
    session_id = browser_session_id(request)
    form = ConfirmTotpForm(request.POST or None)
    try:
        if request.method == "POST" and form.is_valid():
            try:
                codes = flows.confirm_totp(user=request.user, session_id=session_id, code=form.cleaned_data["code"],
                                           client=client_info(request))
            except ServiceError as error:
                if error.code != "mfa_code_incorrect":
                    raise
                form.add_error("code", error.message)
            else:
                return render(request, "mfa/recovery_codes.html", {"codes": codes, "first": True})
        enrolment = flows.pending_totp(user=request.user, session_id=session_id)
    except ServiceError as error:
        return _refused(request, error)
    if enrolment is None:
        return redirect("mfa:manage")
    return render(request, "mfa/totp.html", {"enrolment": enrolment, "form": form})


@require_POST
@account_page
@signed_in_page(return_to="mfa:manage")
def regenerate_recovery_codes(request):
    try:
        codes = flows.regenerate_recovery_codes(user=request.user, session_id=browser_session_id(request),
                                                client=client_info(request))
    except ServiceError as error:
        return _refused(request, error)
    return render(request, "mfa/recovery_codes.html", {"codes": codes, "first": False})


@require_POST
@account_page
@signed_in_page(return_to="mfa:manage")
def remove_totp(request):
    try:
        flows.remove_totp(user=request.user, session_id=browser_session_id(request), client=client_info(request))
    except ServiceError as error:
        return _refused(request, error)
    messages.success(request, APP_REMOVED)
    return redirect("mfa:manage")


@require_POST
@account_page
@signed_in_page(return_to="mfa:manage")
def remove_password(request):
    """Stop using a password: every other session ends, and this browser continues in a new one."""
    try:
        changed = flows.remove_password(user=request.user, session_id=browser_session_id(request),
                                        client=client_info(request), device_token=device_token_from(request))
    except ServiceError as error:
        return _refused(request, error)
    start_browser_session(request, user=request.user, session=changed.tokens.session)
    messages.success(request, PASSWORD_REMOVED)
    response = redirect("mfa:manage")
    set_device_cookie(response, changed.device_token)
    return response


# --- security keys and passkeys (their script: accounts/security-keys.js) ------------------------------------------
@require_POST
@account_page
@signed_in_page(return_to="mfa:manage")
def security_key_options(request):
    try:
        options = flows.security_key_options(user=request.user, session_id=browser_session_id(request),
                                             client=client_info(request),
                                             passkey=request.POST.get("kind", "passkey") == "passkey")
    except ServiceError as error:
        if error.code != "reauthentication_required":
            raise
        # The script cannot follow a redirect into a page: it is told where to send the browser instead.
        return JsonResponse({"confirm_first": True}, status=403)
    return JsonResponse(options)


@require_POST
@account_page
@signed_in_page(return_to="mfa:manage")
def add_security_key(request):
    form = AddSecurityKeyForm(request.POST)
    if not form.is_valid():
        messages.error(request, KEY_REFUSED)
        return redirect("mfa:manage")
    try:
        codes = flows.add_security_key(user=request.user, session_id=browser_session_id(request),
                                       client=client_info(request), credential=form.cleaned_data["credential"],
                                       name=form.cleaned_data.get("name") or "",
                                       passkey=(form.cleaned_data.get("kind") or "passkey") == "passkey")
    except ServiceError as error:
        return _refused(request, error)
    if codes:
        return render(request, "mfa/recovery_codes.html", {"codes": codes, "first": True})
    messages.success(request, KEY_ADDED)
    return redirect("mfa:manage")


@require_POST
@account_page
@signed_in_page(return_to="mfa:manage")
def remove_security_key(request, key_id):
    try:
        flows.remove_security_key(user=request.user, session_id=browser_session_id(request), key_id=key_id,
                                  client=client_info(request))
    except ServiceError as error:
        return _refused(request, error)
    messages.success(request, KEY_REMOVED)
    return redirect("mfa:manage")


@require_POST
@account_page
def passkey_options(request):
    return JsonResponse(flows.passkey_options(client=client_info(request)))


@require_POST
@account_page
def passkey_sign_in(request):
    """Sign in with a passkey chosen on the sign-in page (its autofill or its button): a browser session like a
    password sign-in's."""
    next_url = safe_next(request)
    form = PasskeyLoginForm(request.POST)
    try:
        if not form.is_valid():
            raise ServiceError("webauthn_invalid")
        result = flows.log_in_with_passkey(credential=form.cleaned_data["credential"], client=client_info(request),
                                           device_token=device_token_from(request),
                                           transport=Session.Transport.BROWSER)
    except ServiceError as error:
        if error.code not in ("webauthn_invalid", "webauthn_cloned", "passkey_unknown", "email_not_verified",
                              "invalid_credentials"):
            raise
        messages.error(request, error.message if error.code != "webauthn_invalid" else PASSKEY_REFUSED)
        return redirect("accounts:login")
    start_browser_session(request, user=result.user, session=result.tokens.session)
    response = redirect(next_url or "accounts:account")
    set_device_cookie(response, result.device_token)
    return response


# --- a reset link that adds a passkey (an account without a password) ----------------------------------------------
# The emailed link put its token in the session (accounts.views.password_reset_link); the reset page links here when
# the account has no password. These pages read the token from there, never from the page.
def _reset_link_invalid(request):
    request.session.pop(RESET_TOKEN_SESSION_KEY, None)
    return render(request, "accounts/link_invalid.html", {"purpose": "reset"}, status=400)


@account_page
def reset_with_passkey(request):
    """Each request counts once against the reset link's limits: a GET (or a post without a key's answer) looks at the
    link under them, a post with an answer goes to the flow, which does."""
    token = request.session.get(RESET_TOKEN_SESSION_KEY)
    if not token:
        return _reset_link_invalid(request)
    client = client_info(request)
    form = ResetWithPasskeyForm({**request.POST.dict(), "token": token} if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            return _recover_with_passkey(request, form.cleaned_data, client=client)
        except ServiceError as error:
            if error.code not in ("mfa_code_required", "mfa_code_incorrect", "webauthn_invalid"):
                if error.code == "invalid_token":
                    return _reset_link_invalid(request)
                raise
            if error.code == "webauthn_invalid":
                messages.error(request, KEY_REFUSED)
            else:
                form.add_error("code", error.message)
        user = user_for_link_token(password_reset_tokens, token)  # the flow just looked, under the limits
    else:
        if request.method == "POST":
            messages.error(request, KEY_REFUSED)
        user = passwords.password_reset_user(token, client=client)
    if user is None or not user.is_active:
        return _reset_link_invalid(request)
    if user.has_usable_password():
        return redirect("accounts:password-reset-set")
    methods = flows.status(user).methods
    return render(request, "mfa/reset_passkey.html", {"form": form, "needs_code": bool(methods), "methods": methods})


def _recover_with_passkey(request, data: dict, *, client):
    typed = data.get("code") or ""
    recovery = flows.reset_with_passkey(token=data["token"], credential=data["credential"], name=data.get("name") or "",
                                        answer=FactorAnswer.from_typed(typed) if typed else FactorAnswer(),
                                        client=client)
    request.session.pop(RESET_TOKEN_SESSION_KEY, None)
    response = render(request, "mfa/reset_passkey_done.html", {"codes": recovery.recovery_codes})
    set_device_cookie(response, recovery.reset.device_token)  # the mailbox was proven, as by a reset
    return response


@require_POST
@account_page
def reset_passkey_options(request):
    token = request.session.get(RESET_TOKEN_SESSION_KEY)
    try:
        if not token:
            raise ServiceError("invalid_token")
        return JsonResponse(flows.reset_passkey_options(token=token, client=client_info(request)))
    except ServiceError as error:
        if error.code not in ("invalid_token", "passkey_reset_unavailable"):
            raise
        return JsonResponse({"error": {"code": error.code, "message": str(error.message)}}, status=error.status)
