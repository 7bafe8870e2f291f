"""The account API's response bodies (requests: accounts.forms, the same inputs the pages use)."""
from rest_framework import serializers

from sessions_app.api.serializers import TokenPairSerializer


class UserSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    email = serializers.EmailField(read_only=True)
    name = serializers.CharField(read_only=True)
    email_verified = serializers.BooleanField(read_only=True)
    date_joined = serializers.DateTimeField(read_only=True)


class LoginResponseSerializer(TokenPairSerializer):
    session_id = serializers.UUIDField()
    user = UserSerializer()
    csrf_token = serializers.CharField(required=False, help_text="Cookie transport only: send it in the "
                                       "X-CSRFToken header of refresh and logout.")


class ChangePasswordResponseSerializer(TokenPairSerializer):
    session_id = serializers.UUIDField(help_text="The new session the pair belongs to; every earlier one ended.")


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()
