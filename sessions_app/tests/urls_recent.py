"""The project's URLs plus one endpoint that asks for a recent sign-in (sessions_app.permissions), as a host
project would write it."""
from django.urls import path
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from config.urls import urlpatterns as project_urlpatterns
from sessions_app.api.views import AuthAPIView
from sessions_app.permissions import RecentlyAuthenticated


class SensitiveView(AuthAPIView):
    permission_classes = [IsAuthenticated, RecentlyAuthenticated]

    def post(self, request):
        return Response({"done": True})


urlpatterns = [path("api/sensitive/", SensitiveView.as_view()), *project_urlpatterns]
