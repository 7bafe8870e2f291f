"""Browser pages (mounted at /accounts/mfa/ by the host project)."""
from django.urls import path

from . import views

app_name = "mfa"
urlpatterns = [
    path("", views.manage, name="manage"),
    path("totp/start/", views.start_totp, name="totp-start"),
    path("totp/", views.totp, name="totp"),
    path("totp/remove/", views.remove_totp, name="totp-remove"),
    path("password/remove/", views.remove_password, name="password-remove"),
    path("reset/passkey/", views.reset_with_passkey, name="reset-passkey"),
    path("reset/passkey/options/", views.reset_passkey_options, name="reset-passkey-options"),
    path("recovery-codes/", views.regenerate_recovery_codes, name="recovery-codes"),
    path("keys/options/", views.security_key_options, name="key-options"),
    path("keys/add/", views.add_security_key, name="key-add"),
    path("keys/<uuid:key_id>/remove/", views.remove_security_key, name="key-remove"),
    path("passkey/options/", views.passkey_options, name="passkey-options"),
    path("passkey/sign-in/", views.passkey_sign_in, name="passkey-sign-in"),
]
