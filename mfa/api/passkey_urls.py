"""Signing in with a passkey, and a reset link that adds one (mounted at /api/auth/passkey/ by the host project)."""
from django.urls import path

from . import views

urlpatterns = [
    path("options/", views.PasskeyOptionsView.as_view(), name="passkey-options"),
    path("login/", views.PasskeyLoginView.as_view(), name="passkey-login"),
    path("reset/options/", views.ResetPasskeyOptionsView.as_view(), name="passkey-reset-options"),
    path("reset/", views.ResetWithPasskeyView.as_view(), name="passkey-reset"),
]
