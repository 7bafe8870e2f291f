"""REST endpoints for the account: login, profile, password change, registration, email verification and
password reset. Each view validates the shape of its input and calls one service function, which applies
the rules (rate limits included); errors become the JSON envelope in authcore.api.errors."""
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.response import Response

from authcore.api.inputs import request_serializer
from authcore.api.serializers import COMMON_ERRORS, error_responses
from authcore.api.views import PublicJSONAPIView
from authcore.requestmeta import client_info
from sessions_app.api import transport
from sessions_app.api.dpop import token_endpoint_client
from sessions_app.api.serializers import AUTHENTICATED_ERRORS, token_pair_data
from sessions_app.api.views import AuthAPIView
from sessions_app.services import fresh_access_token

from .. import events
from ..conf import app_settings
from ..device_cookie import device_token_from, set_device_cookie
from ..flows import deletion, email_change, login, not_me, passwords, profile, reauthentication, verification
from ..flows import registration as registration_flow
from ..flows.export import export_account_data
from ..forms import (
    ChangeEmailForm,
    ChangePasswordForm,
    ConfirmEmailChangeForm,
    DeleteAccountForm,
    EmailForm,
    LoginForm,
    LoginSecondStepForm,
    NotMeForm,
    PasswordResetConfirmForm,
    ProfileForm,
    ReauthenticateForm,
    RegisterForm,
    SecondStepTokenForm,
    VerifyEmailForm,
    without_password,
)
from ..second_factor import FactorAnswer
from .serializers import (
    AccountExportSerializer,
    ChangePasswordResponseSerializer,
    DetailSerializer,
    LoginResponseSerializer,
    ReauthenticatedSerializer,
    UserSerializer,
)


class LoginView(PublicJSONAPIView):
    @extend_schema(
        request=request_serializer(LoginForm),
        responses={200: LoginResponseSerializer, **error_responses("invalid_credentials", "email_not_verified",
                                                                   "mfa_required", "invalid_dpop_proof",
                                                                   "use_dpop_nonce", "rate_limited", *COMMON_ERRORS)},
        summary="Log in with email and password",
        description="Opens a new session and returns its first token pair. Unknown email, wrong password and "
        "inactive account give the same 401 `invalid_credentials`. With the right password for an unverified "
        "address: 403 `email_not_verified`, and a fresh verification email (at most one per "
        "VERIFY_EMAIL_RESEND_INTERVAL). Failures are counted per account: 429 `rate_limited` for a client "
        "or an account locked by repeated failures (a device that logged in to the account before, shown by "
        "the HttpOnly `auth_device` cookie set here, is not locked out by failures from elsewhere); 503 "
        "`service_unavailable` while the rate-limit cache is unreachable. With `\"transport\": \"cookie\"` the "
        "refresh token is set in an HttpOnly cookie (path-scoped to refresh and logout) instead of the body, "
        "Django's `csrftoken` cookie is set, and `csrf_token` is in the body for the X-CSRFToken header. For an "
        "account with a second factor, the right password answers 401 `mfa_required` with `mfa_token` and "
        "`methods` (`totp`, `recovery_code`): finish with POST /api/auth/login/mfa/. With a `DPoP` proof "
        "(RFC 9449) the session is bound to its key: `token_type` `DPoP`, the access token's `cnf.jkt`, and a "
        "refresh token that works only with a proof by that key (docs: how-to/dpop.md).",
        tags=["account"],
    )
    def post(self, request):
        data = self.validated(LoginForm)
        result = login.log_in(email=data["email"], password=data["password"], client=token_endpoint_client(request),
                                 device_token=device_token_from(request), request=request,
                                 transport=data.get("transport") or transport.BODY,
                                 device_name=data.get("device_name", ""))
        return login_answer(request, result)


def login_answer(request, result: login.LoginResult) -> Response:
    """The answer of a login that opened a session, with a password alone or after its second step."""
    body = {**token_pair_data(result.tokens), "session_id": str(result.tokens.session.id),
            "user": UserSerializer(result.user).data}
    if result.tokens.session.transport == transport.COOKIE:
        body["csrf_token"] = transport.issue_csrf_token(request._request)
    response = transport.body_and_cookie(body, result.tokens, Response)
    set_device_cookie(response, result.device_token)
    return response


class LoginSecondStepView(PublicJSONAPIView):
    @extend_schema(
        request=request_serializer(LoginSecondStepForm),
        responses={200: LoginResponseSerializer, **error_responses("mfa_token_invalid", "mfa_code_incorrect",
                                                                   "invalid_dpop_proof", "use_dpop_nonce",
                                                                   "rate_limited", *COMMON_ERRORS)},
        summary="Finish a login with a second factor",
        description="After 401 `mfa_required` from login: the `mfa_token` it gave and one answer, `code` (the "
        "authenticator app's current code) or `recovery_code`. Answers as login does (the transport and device "
        "name asked for at login apply). The token works once, for ACCOUNTS['MFA_LOGIN_TIMEOUT'] (5 minutes), "
        "from the client it was given to; ACCOUNTS['MFA_LOGIN_ATTEMPTS'] wrong answers (5) end it (401 "
        "`mfa_token_invalid`: log in again). After a password step with a DPoP proof, send a proof by the same "
        "key (and none after one without). Each wrong answer (400 `mfa_code_incorrect`) counts as a failed login "
        "of the account, toward the same lock as wrong passwords (429).",
        tags=["account"],
    )
    def post(self, request):
        data = self.validated(LoginSecondStepForm)
        result = login.complete_second_step(
            mfa_token=data["mfa_token"], client=token_endpoint_client(request),
            answer=FactorAnswer(code=data.get("code", ""), recovery_code=data.get("recovery_code", ""),
                                webauthn=data.get("webauthn")))
        return login_answer(request, result)


SECURITY_KEY_OPTIONS = OpenApiResponse(description="PublicKeyCredentialRequestOptions as JSON, for "
                                       "navigator.credentials.get() (PublicKeyCredential.parseRequestOptionsFromJSON "
                                       "in browsers); the challenge in it works once, for 5 minutes.")


class LoginSecondStepOptionsView(PublicJSONAPIView):
    @extend_schema(
        request=request_serializer(SecondStepTokenForm),
        responses={200: SECURITY_KEY_OPTIONS, **error_responses("mfa_token_invalid", "mfa_method_unavailable",
                                                                "invalid_dpop_proof", "use_dpop_nonce",
                                                                "rate_limited", *COMMON_ERRORS)},
        summary="Security-key options for a login's second step",
        description="For an account whose `methods` include `webauthn`: the options to pass to the browser; send "
        "its answer as `webauthn` to POST /api/auth/login/mfa/.",
        tags=["account"],
    )
    def post(self, request):
        data = self.validated(SecondStepTokenForm)
        # The client as the second step sees it, its DPoP key included: the mfa_token is bound to both.
        return Response(login.second_step_options(mfa_token=data["mfa_token"],
                                                  client=token_endpoint_client(request)))


class MeView(AuthAPIView):
    @extend_schema(responses={200: UserSerializer, **error_responses(*AUTHENTICATED_ERRORS, "server_error")},
                   summary="The current user",
                   description="The user of this access token, whose session is checked to be alive on every "
                   "request.", tags=["account"])
    def get(self, request):
        return Response(UserSerializer(request.user).data)

    @extend_schema(
        request=request_serializer(ProfileForm),
        responses={200: UserSerializer, **error_responses(*AUTHENTICATED_ERRORS, *COMMON_ERRORS)},
        summary="Update the current user's profile",
        description="Only the fields sent change. The address and the password have flows of their own.",
        tags=["account"],
    )
    def patch(self, request):
        data = self.validated(ProfileForm, partial=True)
        user = profile.update_profile(user=request.user, client=client_info(request), **data)
        return Response(UserSerializer(user).data)


class ChangePasswordView(AuthAPIView):
    @extend_schema(
        request=request_serializer(ChangePasswordForm),
        responses={200: ChangePasswordResponseSerializer,
                   **error_responses("password_incorrect", "session_ended", "reauthentication_required",
                                     "rate_limited", *AUTHENTICATED_ERRORS, *COMMON_ERRORS)},
        summary="Change the password",
        description="Requires the current password. An account without one (it signs in with passkeys only) "
        "leaves `current_password` out and needs a recent reauthentication by a second factor in this session "
        "instead (403 `reauthentication_required` without it). Every session of the user ends at once, the current one "
        "too (its access token stops working immediately); the caller continues in a new session, whose id "
        "and first token pair are returned here. Wrong current passwords count toward the login lock, and the "
        "one that reaches REAUTH_MAX_FAILURES for the account ends this session: 401 `session_ended` (the "
        "same holds for change-email and delete-account).",
        tags=["account"],
    )
    def post(self, request):
        data = self.validated(without_password(ChangePasswordForm, request.user))
        changed = passwords.change_password(
            user=request.user,
            session_id=self.current_session_id(),
            current_password=data.get("current_password"),
            new_password=data["new_password"],
            client=client_info(request),
            device_token=device_token_from(request),
        )
        return password_changed_answer(changed)


def password_changed_answer(changed: passwords.PasswordChanged) -> Response:
    """The caller continues in the new session a password change opened: its id and first pair, and the renewed
    device cookie."""
    tokens = changed.tokens
    response = transport.body_and_cookie({**token_pair_data(tokens), "session_id": str(tokens.session.id)},
                                         tokens, Response)
    set_device_cookie(response, changed.device_token)
    return response


class ReauthenticateView(AuthAPIView):
    @extend_schema(
        request=request_serializer(ReauthenticateForm),
        responses={200: ReauthenticatedSerializer,
                   **error_responses("password_incorrect", "mfa_code_incorrect", "session_ended", "rate_limited",
                                     *AUTHENTICATED_ERRORS, *COMMON_ERRORS)},
        summary="Confirm who you are in this session: the password, or a second factor",
        description="For an endpoint that asks for a recent proof of who the user is (403 "
        "`reauthentication_required`, `sessions_app.permissions.RecentlyAuthenticated`): proves the current "
        "password again (or, for an account with a second factor, gives a `code` of the authenticator app, a "
        "`recovery_code` or a security key's `webauthn` answer instead: exactly one) in this session and answers "
        "with a new access token for it, whose `auth_time` is now. Changing the second factors takes this "
        "(the sign-in does not count), and for an account with a factor, by a factor: the password alone does "
        "not do. "
        "The refresh token is unchanged (later refreshes carry the new time too). Wrong passwords count like "
        "those of change-password (400 `password_incorrect`; at ACCOUNTS['REAUTH_MAX_FAILURES'] the session "
        "ends: 401 `session_ended`).",
        tags=["account"],
    )
    def post(self, request):
        data = self.validated(ReauthenticateForm)
        session_id = self.current_session_id()
        factor = FactorAnswer(code=data.get("code", ""), recovery_code=data.get("recovery_code", ""),
                              webauthn=data.get("webauthn"))
        reauthentication.reauthenticate(user=request.user, session_id=session_id, client=client_info(request),
                                        proof=reauthentication.Proof(password=data.get("password") or None,
                                                                     factor=factor),
                                        failure_event=events.REAUTH_FAIL)
        access = fresh_access_token(user=request.user, session_id=session_id)
        return Response({"access": access.token, "token_type": access.token_type, "expires_in": access.expires_in})


class ReauthenticateOptionsView(AuthAPIView):
    @extend_schema(
        request=None,
        responses={200: SECURITY_KEY_OPTIONS, **error_responses("mfa_method_unavailable", "rate_limited",
                                                                *AUTHENTICATED_ERRORS, "server_error")},
        summary="Security-key options to confirm who you are",
        description="For an account with a security key: the options to pass to the browser; send its answer as "
        "`webauthn` to POST /api/auth/reauthenticate/.",
        tags=["account"],
    )
    def post(self, request):
        return Response(reauthentication.reauthentication_options(user=request.user, client=client_info(request)))


# --- self-service: change the address, delete the account (flows.email_change, flows.deletion) --------------
EMAIL_CHANGE_SENT = _("If this address can be used, we sent it a link to confirm the change. Your address "
                      "changes only when that link is followed.")
EMAIL_CHANGED = _("Your email address has been changed. Log in with the new address from now on.")


class ChangeEmailView(AuthAPIView):
    @extend_schema(
        request=request_serializer(ChangeEmailForm),
        responses={202: DetailSerializer, **error_responses("password_incorrect", "session_ended", "rate_limited",
                                                            "reauthentication_required", *AUTHENTICATED_ERRORS,
                                                            *COMMON_ERRORS)},
        summary="Ask to change the email address",
        description="Requires the current password (400 `password_incorrect`, as change-password; an account "
        "without one leaves it out after a reauthentication by a factor). Nothing "
        "changes yet: a confirmation link (single use, EMAIL_CHANGE_TOKEN_LIFETIME) goes to the new address, "
        "replacing any earlier request. 202 with the same body whether or not the address belongs to another "
        "account (its owner is told instead, and nothing changes). 400 `invalid` with the field code "
        "`email_unchanged` for the current address.",
        tags=["account"],
    )
    def post(self, request):
        data = self.validated(without_password(ChangeEmailForm, request.user))
        email_change.request_email_change(user=request.user, password=data.get("password", ""),
                                          new_email=data["new_email"], client=client_info(request),
                                          session_id=self.current_session_id())
        return Response({"detail": EMAIL_CHANGE_SENT}, status=status.HTTP_202_ACCEPTED)


class ConfirmEmailChangeView(PublicJSONAPIView):
    @extend_schema(
        request=request_serializer(ConfirmEmailChangeForm),
        responses={200: DetailSerializer, **error_responses("invalid_token", "email_taken", "rate_limited",
                                                            *COMMON_ERRORS)},
        summary="Confirm an email address change",
        description="Takes the token from the link sent to the new address; needs no login (the link may be "
        "opened on another device). The address changes and is verified; the old address gets a notice naming "
        "the new one partly masked. Sessions stay. 400 `invalid_token` for a wrong, used, replaced or expired "
        "token; 409 `email_taken` if another account took the address since the request.",
        tags=["account"],
    )
    def post(self, request):
        data = self.validated(ConfirmEmailChangeForm)
        email_change.confirm_email_change(token=data["token"], client=client_info(request))
        return Response({"detail": EMAIL_CHANGED})


class DeleteAccountView(AuthAPIView):
    @extend_schema(
        request=request_serializer(DeleteAccountForm),
        responses={204: OpenApiResponse(description="The account is deleted; every session ended at once."),
                   **error_responses("password_incorrect", "session_ended", "rate_limited", "reauthentication_required",
                                     *AUTHENTICATED_ERRORS, *COMMON_ERRORS)},
        summary="Delete the account",
        description="Requires the current password (400 `password_incorrect`; an account without one leaves "
        "it out after a reauthentication by a factor, 403 `reauthentication_required` without it). Every "
        "session ends at once "
        "(access tokens included), the profile and sessions are deleted, the security log is kept unlinked "
        "from the account for the audit trail, and the address it had gets a confirmation email. The address "
        "can register again afterwards. A refresh cookie, if any, is cleared.",
        tags=["account"],
    )
    def post(self, request):
        data = self.validated(without_password(DeleteAccountForm, request.user))
        deletion.delete_account(user=request.user, password=data.get("password", ""), client=client_info(request),
                                    session_id=self.current_session_id())
        response = Response(status=status.HTTP_204_NO_CONTENT)
        transport.clear_refresh_cookie(response)
        return response


# --- account lifecycle: registration, email verification, password reset ----------------------------------
# With ENUMERATION_PROTECTION these answers are the same for every address, whether it has an account or not.
REGISTERED = _("Check your email: we sent a link to finish setting up your account.")
VERIFICATION_SENT = _("If this address belongs to an account that still needs verifying, we sent it a new link.")
RESET_SENT = _("If this address belongs to an account, we sent it a link to reset the password.")
EMAIL_VERIFIED = _("Your email address is verified. You can log in now.")
PASSWORD_RESET = _("Your password has been changed and every session has been ended. Log in with the new "
                   "password.")


class RegisterView(PublicJSONAPIView):
    @extend_schema(
        request=request_serializer(RegisterForm),
        responses={202: DetailSerializer, 201: UserSerializer, **error_responses("rate_limited", *COMMON_ERRORS)},
        summary="Register a new account",
        description="Creates an unverified account and emails a verification link. With ENUMERATION_PROTECTION "
        "(the default) the answer is 202 with the same body whether or not the address is already registered; "
        "the owner of an existing account gets a notice email instead. Without it: 201 with the new user, or "
        "400 `invalid` with the field error `email_taken`.",
        tags=["account lifecycle"],
    )
    def post(self, request):
        data = self.validated(RegisterForm)
        registration = registration_flow.register(email=data["email"], password=data["password"], name=data["name"],
                                         client=client_info(request))
        if app_settings.ENUMERATION_PROTECTION:
            return Response({"detail": REGISTERED}, status=status.HTTP_202_ACCEPTED)
        return Response(UserSerializer(registration.user).data, status=status.HTTP_201_CREATED)


class VerifyEmailView(PublicJSONAPIView):
    @extend_schema(
        request=request_serializer(VerifyEmailForm),
        responses={200: DetailSerializer, **error_responses("invalid_token", "rate_limited", *COMMON_ERRORS)},
        summary="Verify an email address",
        description="Takes the token from the emailed link. Logs nobody in and returns no tokens. A wrong, "
        "used or expired token gives 400 `invalid_token`.",
        tags=["account lifecycle"],
    )
    def post(self, request):
        data = self.validated(VerifyEmailForm)
        verification.verify_email(token=data["token"], client=client_info(request))
        return Response({"detail": EMAIL_VERIFIED})


class EmailRequestView(PublicJSONAPIView):
    """An endpoint that takes only an email address and answers 202 with the same body for any address."""

    answer: str

    def service(self, *, email: str, client) -> None:
        raise NotImplementedError

    def post(self, request):
        data = self.validated(EmailForm)
        self.service(email=data["email"], client=client_info(request))
        return Response({"detail": self.answer}, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(post=extend_schema(
    request=request_serializer(EmailForm),
    responses={202: DetailSerializer, **error_responses("rate_limited", *COMMON_ERRORS)},
    summary="Send another verification email",
    description="202 with the same body for any address.",
    tags=["account lifecycle"],
))
class ResendVerificationView(EmailRequestView):
    answer = VERIFICATION_SENT

    def service(self, *, email: str, client) -> None:
        verification.resend_verification(email=email, client=client)


@extend_schema_view(post=extend_schema(
    request=request_serializer(EmailForm),
    responses={202: DetailSerializer, **error_responses("rate_limited", *COMMON_ERRORS)},
    summary="Request a password reset email",
    description="202 with the same body, in about the same time, for any address.",
    tags=["account lifecycle"],
))
class PasswordResetRequestView(EmailRequestView):
    answer = RESET_SENT

    def service(self, *, email: str, client) -> None:
        passwords.request_password_reset(email=email, client=client)


class PasswordResetConfirmView(PublicJSONAPIView):
    @extend_schema(
        request=request_serializer(PasswordResetConfirmForm),
        responses={200: DetailSerializer, **error_responses("invalid_token", "rate_limited", *COMMON_ERRORS)},
        summary="Set a new password with a reset token",
        description="Takes the token from the emailed link. Every session of the user ends; no tokens are "
        "returned (log in with the new password). The device that reset it gets the device cookie (the "
        "mailbox was proven), so a lockout others cause does not keep it out. 400 `invalid_token` for a wrong, "
        "used or expired token, 400 `invalid` for a password the policy refuses.",
        tags=["account lifecycle"],
    )
    def post(self, request):
        data = self.validated(PasswordResetConfirmForm)
        reset = passwords.confirm_password_reset(token=data["token"], new_password=data["new_password"],
                                                 client=client_info(request))
        response = Response({"detail": PASSWORD_RESET})
        set_device_cookie(response, reset.device_token)
        return response


class ExportView(AuthAPIView):
    @extend_schema(
        responses={200: AccountExportSerializer,
                   **error_responses("rate_limited", *AUTHENTICATED_ERRORS, "server_error")},
        summary="Export my data",
        description="What the service holds about the current user, as one JSON document: the `profile`; "
        "`sessions`, every session still on record (alive and ended) newest first, `current` marking the one "
        "of this access token; `security_events`, the audit records about the user newest first, where "
        "`by_operator` says an operator acted (never who). No password or token hash is ever included. Each "
        "list is `{items, truncated, limit}`: at most `limit` items (the settings EXPORT_MAX_SESSIONS and "
        "EXPORT_MAX_EVENTS), and `truncated` is true when older ones were left out. Rate limited per client "
        "and per account (429 `rate_limited`); each export is recorded as a `user_data_exported` security "
        "event.",
        tags=["account"],
    )
    def get(self, request):
        data = export_account_data(user=request.user, session_id=self.current_session_id(),
                                   client=client_info(request))
        return Response(AccountExportSerializer(data).data)


# --- security notifications: the "this wasn't me" link of a sign-in alert ----------------------------------
SESSION_ENDED = _("That session has been ended. If you did not sign in, reset your password now: whoever "
                  "signed in knows it.")


class NotMeView(PublicJSONAPIView):
    @extend_schema(
        request=request_serializer(NotMeForm),
        responses={200: DetailSerializer, **error_responses("invalid_token", "rate_limited", *COMMON_ERRORS)},
        summary="Report a sign-in as not yours",
        description="Takes the token from the \"this wasn't me\" link of a new sign-in alert and ends, at once, "
        "the session that sign-in opened together with every live session started with the device cookie it "
        "was given and those opened after it from the same device and network (their refresh and access "
        "tokens stop working on their next use); those devices' cookies no longer spare a sign-in alert or the "
        "login lock. The user's other sessions are untouched; the password is not changed (the user should "
        "reset it). The link works once and for NOT_ME_LINK_LIFETIME: 400 `invalid_token` for a forged, used "
        "or expired token, or when that session was already ended; 400 `invalid` for a string of another "
        "shape.",
        tags=["account lifecycle"],
    )
    def post(self, request):
        data = self.validated(NotMeForm)
        not_me.report_unrecognised_sign_in(token=data["token"], client=client_info(request))
        return Response({"detail": SESSION_ENDED})
