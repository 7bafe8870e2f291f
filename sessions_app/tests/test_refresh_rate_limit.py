"""Refreshes are limited per client IP (the `refresh` scope), with 429 and Retry-After."""
import pytest

from authcore.testing import assert_error

from .helpers import refresh

pytestmark = pytest.mark.django_db


def test_refresh_is_limited_per_ip(api, settings, clock):
    settings.AUTHCORE = {**settings.AUTHCORE, "RATE_LIMITS": {"refresh": {"ip": "2/m"}}}
    for _ in range(2):
        assert refresh(api, "unknown").status_code == 401
    response = refresh(api, "unknown")
    assert_error(response, 429, "rate_limited")
    assert "Retry-After" in response
