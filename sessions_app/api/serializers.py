"""The sessions API's response bodies (requests: sessions_app.forms)."""
from datetime import datetime

from django.conf import settings
from django.utils import timezone
from rest_framework import ISO_8601, serializers
from rest_framework.settings import api_settings

from ..services import IssuedTokens

AUTHENTICATED_ERRORS = ("not_authenticated", "token_not_valid")


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField(required=False, help_text="Body transport only: a cookie-mode session's "
                                    "refresh token is set in its HttpOnly cookie and never appears here.")
    token_type = serializers.CharField(default="Bearer")
    expires_in = serializers.IntegerField(help_text="Seconds until the access token expires.")


def token_pair_data(tokens: IssuedTokens) -> dict:
    return {
        "access": tokens.access,
        "refresh": tokens.refresh,
        "token_type": tokens.token_type,
        "expires_in": tokens.expires_in,
    }


class SessionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    ip_address = serializers.IPAddressField(allow_null=True)
    user_agent = serializers.CharField()
    device = serializers.CharField(help_text="Parsed from the user agent.")
    device_name = serializers.CharField(help_text="Chosen by the client at login; empty if it chose none.")
    transport = serializers.ChoiceField(choices=["body", "cookie"])
    current = serializers.SerializerMethodField()

    def get_current(self, session) -> bool:
        return str(session.id) == str(self.context.get("current_session_id"))

    def to_representation(self, instance) -> dict:
        """The same output as the fields above would give (test_session_representation holds it to that), built
        directly: DRF's field-by-field path cost about 20 µs a session, which on a full page was most of the
        time of GET sessions/ (profiled in process). A subclass (with fields of its own), or settings that write
        times otherwise than as ISO 8601 in an aware time zone, get DRF's own."""
        if type(self) is not SessionSerializer or not _iso_8601_aware():
            return super().to_representation(instance)
        session_id = str(instance.id)
        zone = timezone.get_current_timezone()  # once, not once a field: reading it goes through a context-local
        return {
            "id": session_id,
            "created_at": _iso_8601(instance.created_at, zone),
            "last_used_at": _iso_8601(instance.last_used_at, zone),
            "expires_at": _iso_8601(instance.expires_at, zone),
            "ip_address": instance.ip_address,
            "user_agent": instance.user_agent,
            "device": instance.device,
            "device_name": instance.device_name,
            "transport": instance.transport,
            "current": session_id == str(self.context.get("current_session_id")),
        }


def _iso_8601_aware() -> bool:
    return settings.USE_TZ and str(api_settings.DATETIME_FORMAT).lower() == ISO_8601


def _iso_8601(moment: datetime, zone) -> str:
    """As DRF's DateTimeField writes an aware date and time (ISO 8601 in the current time zone, "Z" for UTC)."""
    text = moment.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text




class CsrfTokenSerializer(serializers.Serializer):
    csrf_token = serializers.CharField(help_text="Send it in the X-CSRFToken header.")


class RevokedCountSerializer(serializers.Serializer):
    revoked = serializers.IntegerField()


class PublicKeySerializer(serializers.Serializer):
    kty = serializers.ChoiceField(choices=["EC", "OKP"], help_text="EC (P-256, ES256) or OKP (Ed25519, EdDSA).")
    crv = serializers.ChoiceField(choices=["P-256", "Ed25519"])
    x = serializers.CharField()
    y = serializers.CharField(required=False, help_text="EC keys only.")
    kid = serializers.CharField(help_text="The key's id: a token's `kid` header names it.")
    alg = serializers.ChoiceField(choices=["ES256", "EdDSA"])
    use = serializers.ChoiceField(choices=["sig"])


class JWKSSerializer(serializers.Serializer):
    keys = PublicKeySerializer(many=True)


class IntrospectionSerializer(serializers.Serializer):
    active = serializers.BooleanField(help_text="Whether the token is an access token of a live session now. When "
                                      "false, nothing else is said.")
    token_type = serializers.CharField(required=False, help_text="`Bearer`.")
    sub = serializers.CharField(required=False, help_text="The user's id.")
    sid = serializers.CharField(required=False, help_text="The session's id.")
    exp = serializers.IntegerField(required=False)
    iat = serializers.IntegerField(required=False)
    iss = serializers.CharField(required=False)
    aud = serializers.CharField(required=False)
    jti = serializers.CharField(required=False)
    amr = serializers.ListField(child=serializers.CharField(), required=False,
                                help_text="RFC 8176 methods of the sign-in (`pwd`, `otp`, `hwk`, `mfa`).")
    auth_time = serializers.IntegerField(required=False, help_text="When the user last proved who they are.")
    cnf = serializers.DictField(required=False, help_text="For a token bound to a key (DPoP): `{\"jkt\": "
                                "<the key's RFC 7638 thumbprint>}`; such a token is of type `DPoP`.")
