"""The MFA endpoints (/api/auth/mfa/): the account's second factors, for the signed-in user. Each change asks for
a recent proof in this session (`POST /api/auth/reauthenticate/`; with a factor once the account has one, see
mfa.flows), and answers 403 `reauthentication_required` without it."""
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from accounts.api.serializers import ChangePasswordResponseSerializer
from accounts.api.views import login_answer, password_changed_answer
from accounts.device_cookie import device_token_from, set_device_cookie
from accounts.second_factor import FactorAnswer
from authcore.api.inputs import request_serializer
from authcore.api.serializers import COMMON_ERRORS, error_responses
from authcore.api.views import PublicJSONAPIView
from authcore.requestmeta import client_info
from sessions_app.api.dpop import token_endpoint_client
from sessions_app.api.serializers import AUTHENTICATED_ERRORS
from sessions_app.api.views import AuthAPIView

from .. import flows
from ..forms import (
    AddSecurityKeyForm,
    ConfirmTotpForm,
    PasskeyLoginForm,
    RenameSecurityKeyForm,
    ResetPasskeyOptionsForm,
    ResetWithPasskeyForm,
    SecurityKeyOptionsForm,
)
from .serializers import (
    MfaStatusSerializer,
    RecoveryCodesSerializer,
    SecurityKeySerializer,
    TotpEnrolmentSerializer,
)

CHANGE_ERRORS = ("reauthentication_required", "rate_limited", *AUTHENTICATED_ERRORS, *COMMON_ERRORS)
PROOF_NOTE = ("Needs a recent proof in this session (SESSIONS_APP['RECENT_AUTHENTICATION_WINDOW']): the sign-in or "
              "POST /api/auth/reauthenticate/; once the account has a second factor, that proof must be a factor "
              "(a sign-in with it, or reauthenticate/ with a code), never the password alone.")


def key_data(key) -> dict:
    return {"id": key.pk, "name": key.name, "passkey": key.passkey, "created_at": key.created_at,
            "last_used_at": key.last_used_at}


def status_data(user) -> dict:
    current = flows.status(user)
    app = current.totp
    return {"enabled": current.enabled, "methods": current.methods,
            "totp": {"created_at": app.confirmed_at, "last_used_at": app.last_used_at} if app else None,
            "security_keys": [key_data(key) for key in current.keys],
            "recovery_codes_left": current.recovery_codes_left}


CREATION_OPTIONS = OpenApiResponse(description="PublicKeyCredentialCreationOptions as JSON, for "
                                   "navigator.credentials.create() (PublicKeyCredential.parseCreationOptionsFromJSON "
                                   "in browsers); its challenge works once, for 5 minutes, for this user.")
REQUEST_OPTIONS = OpenApiResponse(description="PublicKeyCredentialRequestOptions as JSON (no allowCredentials: the "
                                  "browser offers the passkeys it has for this site), user verification required.")


class MfaView(AuthAPIView):
    @extend_schema(responses={200: MfaStatusSerializer, **error_responses(*AUTHENTICATED_ERRORS, "server_error")},
                   summary="The account's second factors", tags=["mfa"])
    def get(self, request):
        return Response(status_data(request.user))

    @extend_schema(responses={204: OpenApiResponse(description="Every factor and recovery code removed."),
                              **error_responses("mfa_not_enabled", "last_passkey", *CHANGE_ERRORS)},
                   summary="Turn MFA off", description=f"Removes every second factor and recovery code; the owner "
                   f"is emailed. {PROOF_NOTE}", tags=["mfa"])
    def delete(self, request):
        flows.turn_off(user=request.user, session_id=self.current_session_id(), client=client_info(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TotpView(AuthAPIView):
    @extend_schema(request=None, responses={201: TotpEnrolmentSerializer,
                                            **error_responses("totp_already_enabled", *CHANGE_ERRORS)},
                   summary="Start setting up an authenticator app",
                   description="A new secret, its otpauth:// URI and a QR code of it. It is not a factor until "
                   f"POST mfa/totp/confirm/ with a code from the app; starting again replaces it. {PROOF_NOTE}",
                   tags=["mfa"])
    def post(self, request):
        enrolment = flows.start_totp(user=request.user, session_id=self.current_session_id(),
                                     client=client_info(request))
        return Response({"secret": enrolment.secret, "uri": enrolment.uri, "qr_code_svg": enrolment.qr_code_svg},
                        status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: OpenApiResponse(description="The app is removed (and with it MFA: the "
                                                               "recovery codes go too)."),
                              **error_responses("mfa_not_enabled", *CHANGE_ERRORS)},
                   summary="Remove the authenticator app", description=PROOF_NOTE, tags=["mfa"])
    def delete(self, request):
        flows.remove_totp(user=request.user, session_id=self.current_session_id(), client=client_info(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ConfirmTotpView(AuthAPIView):
    @extend_schema(request=request_serializer(ConfirmTotpForm),
                   responses={200: RecoveryCodesSerializer,
                              **error_responses("mfa_code_incorrect", "totp_not_started", *CHANGE_ERRORS)},
                   summary="Confirm the authenticator app with a code from it",
                   description="The app becomes a factor: from now on a login asks for it. For the account's first "
                   "factor the answer carries 10 recovery codes, shown this once. The owner is emailed. "
                   f"{PROOF_NOTE}", tags=["mfa"])
    def post(self, request):
        data = self.validated(ConfirmTotpForm)
        codes = flows.confirm_totp(user=request.user, session_id=self.current_session_id(), code=data["code"],
                                   client=client_info(request))
        return Response({"recovery_codes": codes})


class PasswordView(AuthAPIView):
    @extend_schema(responses={200: ChangePasswordResponseSerializer,
                              **error_responses("passkey_required", "password_not_set", *CHANGE_ERRORS)},
                   summary="Stop using a password (sign in with passkeys only)",
                   description="Removes the password of an account that has a passkey: from now on it signs in with "
                   "its passkeys (and a reset link adds a new one). Needs a recent reauthentication by a second "
                   "factor in this session. Like a password change, every session ends and the caller continues in "
                   "a new one, whose id and first pair are returned; the owner is emailed. A password comes back with "
                   "POST /api/auth/change-password/ (no `current_password`, after a reauthentication by a factor).",
                   tags=["mfa"])
    def delete(self, request):
        return password_changed_answer(flows.remove_password(
            user=request.user, session_id=self.current_session_id(), client=client_info(request),
            device_token=device_token_from(request)))


class RecoveryCodesView(AuthAPIView):
    @extend_schema(request=None, responses={200: RecoveryCodesSerializer,
                                            **error_responses("mfa_not_enabled", *CHANGE_ERRORS)},
                   summary="Make new recovery codes",
                   description="New codes, shown this once; every earlier one stops working. Needs a recent proof "
                   "by a second factor in this session.", tags=["mfa"])
    def post(self, request):
        codes = flows.regenerate_recovery_codes(user=request.user, session_id=self.current_session_id(),
                                                client=client_info(request))
        return Response({"recovery_codes": codes})


class SecurityKeyOptionsView(AuthAPIView):
    @extend_schema(request=request_serializer(SecurityKeyOptionsForm),
                   responses={200: CREATION_OPTIONS, **error_responses(*CHANGE_ERRORS)},
                   summary="Options to add a passkey or security key",
                   description=f"Attestation none; the account's keys are excluded. {PROOF_NOTE}", tags=["mfa"])
    def post(self, request):
        data = self.validated(SecurityKeyOptionsForm)
        return Response(flows.security_key_options(user=request.user, session_id=self.current_session_id(),
                                                   client=client_info(request),
                                                   passkey=(data.get("kind") or "passkey") == "passkey"))


class SecurityKeysView(AuthAPIView):
    @extend_schema(responses={200: SecurityKeySerializer(many=True),
                              **error_responses(*AUTHENTICATED_ERRORS, "server_error")},
                   summary="The account's passkeys and security keys", tags=["mfa"])
    def get(self, request):
        return Response([key_data(key) for key in flows.status(request.user).keys])


class AddSecurityKeyView(AuthAPIView):
    @extend_schema(request=request_serializer(AddSecurityKeyForm),
                   responses={201: RecoveryCodesSerializer,
                              **error_responses("webauthn_invalid", *CHANGE_ERRORS)},
                   summary="Add a passkey or security key",
                   description="The browser's answer (`credential`, PublicKeyCredential.toJSON()) to options from "
                   "mfa/webauthn/register/options/ with the same `kind`. For the account's first factor the answer "
                   f"carries 10 recovery codes, shown this once. The owner is emailed. {PROOF_NOTE}", tags=["mfa"])
    def post(self, request):
        data = self.validated(AddSecurityKeyForm)
        codes = flows.add_security_key(user=request.user, session_id=self.current_session_id(),
                                       client=client_info(request), credential=data["credential"],
                                       name=data.get("name", ""), passkey=(data.get("kind") or "passkey") == "passkey")
        return Response({"recovery_codes": codes}, status=status.HTTP_201_CREATED)


class SecurityKeyView(AuthAPIView):
    @extend_schema(request=request_serializer(RenameSecurityKeyForm),
                   responses={200: SecurityKeySerializer,
                              **error_responses("not_found", "rate_limited", *AUTHENTICATED_ERRORS,
                                                *COMMON_ERRORS)},
                   summary="Rename a passkey or security key", description="Audited (`mfa_factor_renamed`).",
                   tags=["mfa"])
    def patch(self, request, key_id):
        data = self.validated(RenameSecurityKeyForm, partial=True)
        return Response(key_data(flows.rename_security_key(user=request.user, key_id=key_id,
                                                           name=data.get("name"), client=client_info(request))))

    @extend_schema(responses={204: OpenApiResponse(description="Removed (and with the last factor, MFA: the recovery "
                                                               "codes go too)."),
                              **error_responses("not_found", "last_passkey", *CHANGE_ERRORS)},
                   summary="Remove a passkey or security key", description=f"{PROOF_NOTE} The last passkey of an "
                   "account without a password stays (409 `last_passkey`).", tags=["mfa"])
    def delete(self, request, key_id):
        flows.remove_security_key(user=request.user, session_id=self.current_session_id(), key_id=key_id,
                                  client=client_info(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasskeyOptionsView(PublicJSONAPIView):
    @extend_schema(request=None, responses={200: REQUEST_OPTIONS, **error_responses("rate_limited", *COMMON_ERRORS)},
                   summary="Options to sign in with a passkey", tags=["account"])
    def post(self, request):
        return Response(flows.passkey_options(client=client_info(request)))


class PasskeyLoginView(PublicJSONAPIView):
    @extend_schema(request=request_serializer(PasskeyLoginForm),
                   responses={200: OpenApiResponse(description="As POST /api/auth/login/."),
                              **error_responses("webauthn_invalid", "webauthn_cloned", "passkey_unknown",
                                                "email_not_verified", "invalid_dpop_proof", "use_dpop_nonce",
                                                "rate_limited", *COMMON_ERRORS)},
                   summary="Sign in with a passkey",
                   description="The browser's answer (`credential`) to options from passkey/options/: no password. The "
                   "answer is a login's (`transport`, `device_name`, the device cookie, the new-device alert); the "
                   "session's `amr` is `[\"hwk\", \"mfa\"]` (a key held, its user verified by it).", tags=["account"])
    def post(self, request):
        data = self.validated(PasskeyLoginForm)
        result = flows.log_in_with_passkey(credential=data["credential"], client=token_endpoint_client(request),
                                           device_token=device_token_from(request),
                                           transport=data.get("transport") or "body",
                                           device_name=data.get("device_name", ""))
        return login_answer(request, result)


class ResetPasskeyOptionsView(PublicJSONAPIView):
    @extend_schema(request=request_serializer(ResetPasskeyOptionsForm),
                   responses={200: CREATION_OPTIONS,
                              **error_responses("invalid_token", "passkey_reset_unavailable", "rate_limited",
                                                *COMMON_ERRORS)},
                   summary="Options for a new passkey with a reset link",
                   description="For the reset link of an account without a password (it signs in with passkeys "
                   "only): options to make the passkey that POST passkey/reset/ adds. Under the limits of the "
                   "reset link. 400 `passkey_reset_unavailable` for an account with a password (it sets a new one "
                   "with password-reset/confirm/).", tags=["account lifecycle"])
    def post(self, request):
        data = self.validated(ResetPasskeyOptionsForm)
        return Response(flows.reset_passkey_options(token=data["token"], client=client_info(request)))


class ResetWithPasskeyView(PublicJSONAPIView):
    @extend_schema(request=request_serializer(ResetWithPasskeyForm),
                   responses={200: RecoveryCodesSerializer,
                              **error_responses("invalid_token", "passkey_reset_unavailable", "mfa_code_required",
                                                "mfa_code_incorrect", "webauthn_invalid", "rate_limited",
                                                *COMMON_ERRORS)},
                   summary="Add a new passkey with a reset link",
                   description="The reset link of an account without a password adds the passkey the browser made "
                   "(`credential`, for options from passkey/reset/options/) instead of setting a password. Like a "
                   "reset: the link works once, every session ends, nobody is signed in (sign in with the new "
                   "passkey), the owner is emailed and the device gets the device cookie. An account that still has "
                   "second factors must give one of their codes as well (`code` or `recovery_code`): without one, "
                   "400 `mfa_code_required` with the `methods` it can answer with. The answer carries recovery codes "
                   "(shown this once) when the passkey is the account's first factor.", tags=["account lifecycle"])
    def post(self, request):
        data = self.validated(ResetWithPasskeyForm)
        recovery = flows.reset_with_passkey(
            token=data["token"], credential=data["credential"], name=data.get("name", ""),
            answer=FactorAnswer(code=data.get("code", ""), recovery_code=data.get("recovery_code", "")),
            client=client_info(request))
        response = Response({"recovery_codes": recovery.recovery_codes})
        set_device_cookie(response, recovery.reset.device_token)  # the mailbox was proven, as by a reset
        return response
