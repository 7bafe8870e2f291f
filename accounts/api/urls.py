from django.urls import path

from . import views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="auth-login"),
    path("login/mfa/", views.LoginSecondStepView.as_view(), name="auth-login-mfa"),
    path("login/mfa/options/", views.LoginSecondStepOptionsView.as_view(), name="auth-login-mfa-options"),
    path("me/", views.MeView.as_view(), name="auth-me"),
    path("reauthenticate/", views.ReauthenticateView.as_view(), name="auth-reauthenticate"),
    path("reauthenticate/options/", views.ReauthenticateOptionsView.as_view(), name="auth-reauthenticate-options"),
    path("change-password/", views.ChangePasswordView.as_view(), name="auth-change-password"),
    path("change-email/", views.ChangeEmailView.as_view(), name="auth-change-email"),
    path("change-email/confirm/", views.ConfirmEmailChangeView.as_view(), name="auth-change-email-confirm"),
    path("delete-account/", views.DeleteAccountView.as_view(), name="auth-delete-account"),
    path("register/", views.RegisterView.as_view(), name="auth-register"),
    path("verify-email/", views.VerifyEmailView.as_view(), name="auth-verify-email"),
    path("verify-email/resend/", views.ResendVerificationView.as_view(), name="auth-verify-email-resend"),
    path("password-reset/", views.PasswordResetRequestView.as_view(), name="auth-password-reset"),
    path("password-reset/confirm/", views.PasswordResetConfirmView.as_view(), name="auth-password-reset-confirm"),
    path("export/", views.ExportView.as_view(), name="auth-export"),
    path("not-me/", views.NotMeView.as_view(), name="auth-not-me"),
]
