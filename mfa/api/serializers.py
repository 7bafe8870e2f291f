"""The MFA API's response bodies. None ever carries a secret except the one answer that sets an app up."""
from rest_framework import serializers


class AuthenticatorAppSerializer(serializers.Serializer):
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)


class SecurityKeySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    passkey = serializers.BooleanField(help_text="Signs in without a password (kept on the device, verifies its user).")
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)


class MfaStatusSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(help_text="The account has a second factor: a login asks for it.")
    methods = serializers.ListField(child=serializers.CharField(), help_text="What a login's second step accepts: "
                                    "`totp`, `webauthn`, `recovery_code`.")
    totp = AuthenticatorAppSerializer(allow_null=True, help_text="The authenticator app, once confirmed.")
    security_keys = SecurityKeySerializer(many=True)
    recovery_codes_left = serializers.IntegerField(help_text="Unused recovery codes.")


class TotpEnrolmentSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="The shared secret in base32, for typing into an app by hand.")
    uri = serializers.CharField(help_text="The otpauth:// URI an app reads from the QR code.")
    qr_code_svg = serializers.CharField(help_text="The URI as a QR code, an inline SVG element (no script).")


class RecoveryCodesSerializer(serializers.Serializer):
    recovery_codes = serializers.ListField(child=serializers.CharField(), help_text="Shown this once; each works "
                                           "once. Empty when the account already had codes.")
