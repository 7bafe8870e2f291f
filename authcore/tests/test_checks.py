"""Start-up checks of the kernel's settings (AUTHCORE): rate limits, proxies and background tasks."""
from datetime import timedelta

from django.conf import settings
from django.test import override_settings
import pytest

from authcore.checks import check_kernel_settings
from authcore.tasks import TASKS_API


def error_ids(messages) -> set[str]:
    return {message.id for message in messages if message.is_serious()}


DURABLE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@override_settings(TASKS=DURABLE_TASKS)  # the suite's own immediate task backend is for tests only
def test_the_project_settings_pass():
    assert error_ids(check_kernel_settings()) == set()


def test_a_task_backend_that_is_not_durable_is_refused_outside_debug():
    immediate = f"{TASKS_API}.backends.immediate.ImmediateBackend"
    with override_settings(TASKS={"default": {"BACKEND": immediate}}):
        assert "authcore.E008" in error_ids(check_kernel_settings())
        with override_settings(DEBUG=True):
            assert "authcore.E008" not in error_ids(check_kernel_settings())
    # The database backend under its full path is the same backend.
    with override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.backend.DatabaseBackend"}}):
        assert "authcore.E008" not in error_ids(check_kernel_settings())


@pytest.mark.parametrize(("changes", "expected"), [
    ({"TASK_RETRY_DELAY": 10}, "authcore.E009"),
    ({"TASK_LEASE": timedelta(0)}, "authcore.E009"),
    ({"TASK_MAX_ATTEMPTS": 0}, "authcore.E010"),
], ids=["delay-not-a-timedelta", "no-lease", "no-attempts"])
@override_settings(TASKS=DURABLE_TASKS)
def test_task_settings_are_checked(changes, expected):
    with override_settings(AUTHCORE={**settings.AUTHCORE, **changes}):
        assert expected in error_ids(check_kernel_settings())


@pytest.mark.parametrize(("changes", "expected"), [
    ({"TRUSTED_PROXY_COUNT": -1}, "authcore.E002"),
    ({"TRUSTED_PROXY_COUN": 1}, "authcore.E001"),  # a typo is not silently ignored
], ids=["proxies", "typo"])
def test_kernel_checks_refuse_bad_settings(changes, expected):
    with override_settings(AUTHCORE={**settings.AUTHCORE, **changes}):
        assert expected in error_ids(check_kernel_settings())


@pytest.mark.parametrize(("rate_limits", "expected"), [
    ({"reflesh": {"ip": "10/m"}}, "authcore.E003"),
    ({"login": None}, "authcore.E004"),
    ({"login": {"email": "10/m"}}, "authcore.E004"),
])
def test_rate_limit_settings_are_checked(rate_limits, expected):
    with override_settings(AUTHCORE={**settings.AUTHCORE, "RATE_LIMITS": rate_limits}):
        assert expected in error_ids(check_kernel_settings())


@override_settings(TASKS=DURABLE_TASKS)
def test_a_valid_rate_limit_override_passes():
    with override_settings(AUTHCORE={**settings.AUTHCORE, "RATE_LIMITS": {"login": {"account": None}}}):
        assert error_ids(check_kernel_settings()) == set()


def test_fail_open_scopes_must_be_known():
    with override_settings(AUTHCORE={**settings.AUTHCORE, "RATE_LIMIT_FAIL_OPEN": ("refesh",)}):
        assert "authcore.E005" in error_ids(check_kernel_settings())
