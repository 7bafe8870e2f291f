from django.urls import path

from . import views

urlpatterns = [
    path("", views.MfaView.as_view(), name="mfa"),
    path("totp/", views.TotpView.as_view(), name="mfa-totp"),
    path("totp/confirm/", views.ConfirmTotpView.as_view(), name="mfa-totp-confirm"),
    path("recovery-codes/", views.RecoveryCodesView.as_view(), name="mfa-recovery-codes"),
]
