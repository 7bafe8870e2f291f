"""System checks for the lifecycle settings."""
from datetime import timedelta

import pytest

from accounts.checks import check_account_settings
from accounts.emails import human_duration
from accounts.testing import use_email_backend


def ids():
    return {error.id for error in check_account_settings()}


def test_defaults_pass(settings):
    use_email_backend(settings, "django_ses.SESBackend")  # the suite's own in-memory backend is for tests only
    assert not {i for i in ids() if i.startswith("accounts.E")}


def test_links_need_the_pages_or_a_template(settings):
    settings.ROOT_URLCONF = "accounts.tests.urls_without_pages"
    assert "accounts.E005" in ids()
    templates = {"VERIFY_EMAIL_URL_TEMPLATE": "https://app.example.com/v/{token}",
                 "PASSWORD_RESET_URL_TEMPLATE": "https://app.example.com/r/{token}",
                 "EMAIL_CHANGE_URL_TEMPLATE": "https://app.example.com/e/{token}",
                 "NOT_ME_URL_TEMPLATE": "https://app.example.com/n/{token}"}
    base = dict(settings.ACCOUNTS)
    for missing in templates:  # each link kind on its own
        settings.ACCOUNTS = {**base, **{k: v for k, v in templates.items() if k != missing}}
        assert "accounts.E005" in ids(), missing
    settings.ACCOUNTS = {**base, **templates}
    assert "accounts.E005" not in ids()


def test_human_duration():
    assert human_duration(timedelta(hours=24)) == "1 day"
    assert human_duration(timedelta(days=7)) == "7 days"
    assert human_duration(timedelta(hours=36)) == "36 hours"
    assert human_duration(timedelta(hours=1)) == "1 hour"
    assert human_duration(timedelta(minutes=90)) == "90 minutes"


def test_the_default_admin_site_is_warned_about():
    """Installed as plain "django.contrib.admin", the admin login would escape the login throttle."""
    from django.contrib import admin

    from accounts.admin_site import AccountsAdminSite
    from accounts.checks import check_account_settings

    def warnings() -> set[str]:
        return {message.id for message in check_account_settings()}

    assert isinstance(admin.site, AccountsAdminSite) and "accounts.W004" not in warnings()
    original = admin.site._wrapped
    admin.site._wrapped = admin.AdminSite()
    try:
        assert "accounts.W004" in warnings()
    finally:
        admin.site._wrapped = original


@pytest.mark.parametrize("changes, expected", [
    ({"LOGIN_FAILURE_WINDOW": timedelta(0)}, "accounts.E007"),
    ({"LOGIN_LOCKOUT_THRESHOLD": 0}, "accounts.E008"),
    ({"LOGIN_LOCKOUT_BASE": timedelta(hours=2)}, "accounts.E009"),
], ids=["zero-window", "zero-threshold", "base-over-max"])
def test_login_throttle_settings_are_checked(settings, changes, expected):
    settings.ACCOUNTS = {**settings.ACCOUNTS, **changes}
    assert expected in ids()


def test_the_password_length_cap_validator_is_required(settings):
    settings.AUTH_PASSWORD_VALIDATORS = [validator for validator in settings.AUTH_PASSWORD_VALIDATORS
                                         if not validator["NAME"].endswith("MaximumLengthValidator")]
    assert "accounts.E010" in ids()


@pytest.mark.parametrize("backend, debug, error", [
    ("django.core.mail.backends.console.EmailBackend", False, "accounts.E012"),
    ("django.core.mail.backends.dummy.EmailBackend", False, "accounts.E012"),
    ("django.core.mail.backends.locmem.EmailBackend", False, "accounts.E012"),
    ("django.core.mail.backends.console.EmailBackend", True, None),
    ("django_ses.SESBackend", False, None),
    ("django.core.mail.backends.smtp.EmailBackend", False, None),
    ("nowhere.EmailBackend", False, "accounts.E011"),
    ("django_ses.NoSuchBackend", True, "accounts.E011"),
])
def test_the_email_backend_must_import_and_be_real_outside_debug(settings, backend, debug, error):
    from accounts.checks import check_account_settings

    use_email_backend(settings, backend)
    settings.DEBUG = debug
    ids = [found.id for found in check_account_settings() if found.id in ("accounts.E011", "accounts.E012")]
    assert ids == ([error] if error else [])
