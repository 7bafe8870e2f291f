"""The four endpoints the benchmark compares, at the same paths as the project's, and the floor."""
from django.urls import path
from peerusers.views import FloorView, MeView
from rest_framework_simplejwt.views import TokenBlacklistView, TokenObtainPairView, TokenRefreshView

urlpatterns = [
    path("api/auth/login/", TokenObtainPairView.as_view()),
    path("api/auth/refresh/", TokenRefreshView.as_view()),
    path("api/auth/me/", MeView.as_view()),
    path("api/auth/logout/", TokenBlacklistView.as_view()),
    path("api/floor/", FloorView.as_view()),
]
