"""Signing in with a passkey (mounted at /api/auth/passkey/ by the host project)."""
from django.urls import path

from . import views

urlpatterns = [
    path("options/", views.PasskeyOptionsView.as_view(), name="passkey-options"),
    path("login/", views.PasskeyLoginView.as_view(), name="passkey-login"),
]
