"""Browser pages (mounted at /accounts/ by the host project)."""
from django.urls import path, register_converter

from . import account_views, views


class LinkTokenConverter:
    """The "<uidb64>.<timestamp>-<hmac>" string of an emailed link (accounts/tokens.py)."""

    regex = r"[A-Za-z0-9_-]+\.[0-9a-z]+-[0-9a-f]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(LinkTokenConverter, "link_token")

app_name = "accounts"
urlpatterns = [
    # A signed-in account (accounts/account_views.py).
    path("", account_views.account, name="account"),
    path("login/", account_views.sign_in, name="login"),
    path("login/verify/", account_views.sign_in_second_step, name="login-second-step"),
    path("login/verify/options/", account_views.sign_in_second_step_options, name="login-second-step-options"),
    path("logout/", account_views.sign_out, name="logout"),
    path("sessions/", account_views.session_list, name="sessions"),
    path("sessions/end-others/", account_views.end_other_sessions, name="end-other-sessions"),
    path("sessions/<uuid:session_id>/end/", account_views.end_session, name="end-session"),
    path("confirm-password/", account_views.reauthenticate, name="reauthenticate"),
    path("confirm-password/options/", account_views.reauthenticate_options, name="reauthenticate-options"),
    path("password-change/", account_views.change_password, name="password-change"),
    path("change-email/", account_views.change_email, name="change-email-request"),
    path("delete/", account_views.delete_account, name="delete"),
    path("deleted/", account_views.account_deleted, name="deleted"),
    path("export/", account_views.export, name="export"),
    # The account's lifecycle, before and around signing in (accounts/views.py).
    path("register/", views.register, name="register"),
    path("register/sent/", views.register_sent, name="register-sent"),
    path("verify-email/resend/", views.resend_verification, name="verify-email-resend"),
    path("verify-email/resend/sent/", views.verification_resent, name="verify-email-resent"),
    path("verify-email/confirm/", views.verify_email_confirm, name="verify-email-confirm"),
    path("verify-email/<link_token:token>/", views.verify_email_link, name="verify-email"),
    path("change-email/confirm/", views.change_email_confirm, name="change-email-confirm"),
    path("change-email/<link_token:token>/", views.change_email_link, name="change-email"),
    path("password-reset/", views.password_reset, name="password-reset"),
    path("password-reset/sent/", views.password_reset_sent, name="password-reset-sent"),
    path("password-reset/new-password/", views.password_reset_set, name="password-reset-set"),
    path("password-reset/done/", views.password_reset_done, name="password-reset-done"),
    path("password-reset/<link_token:token>/", views.password_reset_link, name="password-reset-link"),
    path("not-me/confirm/", views.not_me_confirm, name="not-me-confirm"),
    path("not-me/<str:token>/", views.not_me_link, name="not-me"),  # checked on the page it leads to
]
