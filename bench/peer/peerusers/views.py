"""GET me/: the same five fields as the project's, behind simplejwt's JWTAuthentication (signature, expiry,
issuer, audience, then the user by primary key; no revocation check: that is what simplejwt offers)."""
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import JWTAuthentication


class UserSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    email = serializers.EmailField(read_only=True)
    name = serializers.CharField(read_only=True)
    email_verified = serializers.BooleanField(read_only=True)
    date_joined = serializers.DateTimeField(read_only=True)


class MeView(APIView):
    authentication_classes = [JWTAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response(UserSerializer(request.user).data)


# What GET me answers, as constants: the floor renders a body of the same shape.
FLOOR_BODY = {"id": "00000000-0000-0000-0000-000000000000", "email": "floor@bench.example", "name": "",
              "email_verified": True, "date_joined": "2026-01-01T00:00:00Z"}


class FloorView(APIView):
    """The floor: DRF with no authentication, no permission and no query, answering a constant body."""
    authentication_classes = []
    permission_classes = [AllowAny]

    def get(self, request):
        return Response(FLOOR_BODY)
