"""Browser pages (mounted at /accounts/mfa/ by the host project)."""
from django.urls import path

from . import views

app_name = "mfa"
urlpatterns = [
    path("", views.manage, name="manage"),
    path("totp/start/", views.start_totp, name="totp-start"),
    path("totp/", views.totp, name="totp"),
    path("totp/remove/", views.remove_totp, name="totp-remove"),
    path("recovery-codes/", views.regenerate_recovery_codes, name="recovery-codes"),
]
