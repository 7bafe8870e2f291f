from django.urls import path

from . import views

urlpatterns = [
    path("", views.MfaView.as_view(), name="mfa"),
    path("totp/", views.TotpView.as_view(), name="mfa-totp"),
    path("totp/confirm/", views.ConfirmTotpView.as_view(), name="mfa-totp-confirm"),
    path("password/", views.PasswordView.as_view(), name="mfa-password"),
    path("recovery-codes/", views.RecoveryCodesView.as_view(), name="mfa-recovery-codes"),
    path("webauthn/", views.SecurityKeysView.as_view(), name="mfa-webauthn"),
    path("webauthn/register/options/", views.SecurityKeyOptionsView.as_view(), name="mfa-webauthn-options"),
    path("webauthn/register/", views.AddSecurityKeyView.as_view(), name="mfa-webauthn-register"),
    path("webauthn/<str:key_id>/", views.SecurityKeyView.as_view(), name="mfa-webauthn-key"),
]
