"""The connections API's response bodies. Metadata only: no token, ciphertext or secret is ever in them."""
from rest_framework import serializers


class ConnectionSerializer(serializers.Serializer):
    provider = serializers.CharField()
    status = serializers.ChoiceField(choices=["active", "needs_reconnect", "revoked"])
    scopes = serializers.SerializerMethodField()
    expires_at = serializers.DateTimeField(allow_null=True, help_text="When the stored access token expires.")
    created_at = serializers.DateTimeField()
    connected_at = serializers.DateTimeField()
    refreshed_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)

    def get_scopes(self, connection) -> list[str]:
        return connection.scopes.split()


class StartedConnectionSerializer(serializers.Serializer):
    authorization_url = serializers.URLField(help_text="Send the user here (a browser navigation).")
    expires_at = serializers.DateTimeField(help_text="The attempt must be completed before this.")
