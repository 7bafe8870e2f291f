"""The MFA endpoints (/api/auth/mfa/): the account's second factors, for the signed-in user. Each change asks for
a recent proof in this session (`POST /api/auth/reauthenticate/`; with a factor once the account has one, see
mfa.flows), and answers 403 `reauthentication_required` without it."""
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from authcore.api.inputs import request_serializer
from authcore.api.serializers import COMMON_ERRORS, error_responses
from authcore.requestmeta import client_info
from sessions_app.api.serializers import AUTHENTICATED_ERRORS
from sessions_app.api.views import AuthAPIView

from .. import flows
from ..forms import ConfirmTotpForm
from .serializers import MfaStatusSerializer, RecoveryCodesSerializer, TotpEnrolmentSerializer

CHANGE_ERRORS = ("reauthentication_required", "rate_limited", *AUTHENTICATED_ERRORS, *COMMON_ERRORS)
PROOF_NOTE = ("Needs a recent proof in this session (SESSIONS_APP['RECENT_AUTHENTICATION_WINDOW']): the sign-in or "
              "POST /api/auth/reauthenticate/; once the account has a second factor, that proof must be a factor "
              "(a sign-in with it, or reauthenticate/ with a code), never the password alone.")


def status_data(user) -> dict:
    current = flows.status(user)
    app = current.totp
    return {"enabled": current.enabled, "methods": current.methods,
            "totp": {"created_at": app.confirmed_at, "last_used_at": app.last_used_at} if app else None,
            "recovery_codes_left": current.recovery_codes_left}


class MfaView(AuthAPIView):
    @extend_schema(responses={200: MfaStatusSerializer, **error_responses(*AUTHENTICATED_ERRORS, "server_error")},
                   summary="The account's second factors", tags=["mfa"])
    def get(self, request):
        return Response(status_data(request.user))

    @extend_schema(responses={204: OpenApiResponse(description="Every factor and recovery code removed."),
                              **error_responses("mfa_not_enabled", *CHANGE_ERRORS)},
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
