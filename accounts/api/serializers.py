"""The account API's response bodies (requests: accounts.forms, the same inputs the pages use)."""
from rest_framework import serializers

from sessions_app.api.serializers import SessionSerializer, TokenPairSerializer


class UserSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    email = serializers.EmailField(read_only=True)
    name = serializers.CharField(read_only=True)
    email_verified = serializers.BooleanField(read_only=True)
    language = serializers.CharField(read_only=True, help_text="The language of the user's emails (a code of "
                                     "the service's languages, e.g. `de`); empty: the service's default.")
    date_joined = serializers.DateTimeField(read_only=True)

    def to_representation(self, instance) -> dict:
        """The same output as the fields above would give (test_user_representation holds it to that), without
        copying the declared fields into every new serializer as DRF does, which was about a tenth of the time
        of GET me, the busiest answer (profiled in process)."""
        return {
            "id": str(instance.id),
            "email": instance.email,
            "name": instance.name,
            "email_verified": instance.email_verified,
            "language": instance.language,
            "date_joined": _DATE_TIME.to_representation(instance.date_joined),
        }


_DATE_TIME = serializers.DateTimeField()


class LoginResponseSerializer(TokenPairSerializer):
    session_id = serializers.UUIDField()
    user = UserSerializer()
    csrf_token = serializers.CharField(required=False, help_text="Cookie transport only: send it in the "
                                       "X-CSRFToken header of refresh and logout.")


class ChangePasswordResponseSerializer(TokenPairSerializer):
    session_id = serializers.UUIDField(help_text="The new session the pair belongs to; every earlier one ended.")


class ReauthenticatedSerializer(serializers.Serializer):
    access = serializers.CharField(help_text="A new access token for this session; its `auth_time` is now.")
    token_type = serializers.CharField(default="Bearer")
    expires_in = serializers.IntegerField(help_text="Seconds until the access token expires.")


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


# --- "Export my data" (accounts.flows.export) ---------------------------------------------------------------
class ExportedProfileSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    name = serializers.CharField()
    date_joined = serializers.DateTimeField()
    last_login = serializers.DateTimeField(allow_null=True)
    email_verified_at = serializers.DateTimeField(allow_null=True)
    password_changed_at = serializers.DateTimeField(allow_null=True)
    is_active = serializers.BooleanField()
    is_staff = serializers.BooleanField()
    pending_email = serializers.CharField(help_text="An address change waiting for its confirmation; empty if none.")
    language = serializers.CharField(help_text="The language of the user's emails; empty: the service's default.")
    pending_email_requested_at = serializers.DateTimeField(allow_null=True)


class ExportedSessionSerializer(SessionSerializer):
    """The sessions list's fields, and how each session ended; `current` comes with the export's data."""

    idle_expires_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True, help_text="When it was ended; null if it was not.")
    revoke_reason = serializers.CharField(help_text="Why it was ended, e.g. `logout`; empty if it was not.")
    current = serializers.BooleanField(help_text="The session of the access token that asked for this export.")


class ExportedSecurityEventSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="What happened, e.g. `authn_login_success`.")
    created_at = serializers.DateTimeField()
    ip_address = serializers.IPAddressField(allow_null=True)
    user_agent = serializers.CharField()
    session_id = serializers.UUIDField(allow_null=True)
    details = serializers.DictField()
    by_operator = serializers.BooleanField(help_text="An operator did it (in the admin), not the user.")


class ExportedSessionListSerializer(serializers.Serializer):
    items = ExportedSessionSerializer(many=True)
    truncated = serializers.BooleanField(help_text="True when older sessions were left out.")
    limit = serializers.IntegerField(help_text="The most sessions an export holds (EXPORT_MAX_SESSIONS).")


class ExportedSecurityEventListSerializer(serializers.Serializer):
    items = ExportedSecurityEventSerializer(many=True)
    truncated = serializers.BooleanField(help_text="True when older events were left out.")
    limit = serializers.IntegerField(help_text="The most events an export holds (EXPORT_MAX_EVENTS).")


class AccountExportSerializer(serializers.Serializer):
    exported_at = serializers.DateTimeField()
    profile = ExportedProfileSerializer()
    sessions = ExportedSessionListSerializer(help_text="Alive and ended, newest first.")
    security_events = ExportedSecurityEventListSerializer(help_text="Newest first.")
