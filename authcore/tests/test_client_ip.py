"""The client address the limits and the audit trail use: REMOTE_ADDR, or the entry X-Forwarded-For
holds that many proxies from the right when TRUSTED_PROXY_COUNT proxies are trusted."""
from django.test import RequestFactory
import pytest

from authcore.requestmeta import client_ip
from authcore.testing import assert_error

pytestmark = pytest.mark.django_db


def request(remote: str, forwarded: str | None = None):
    headers = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **headers)


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.AUTHCORE = {**settings.AUTHCORE, "TRUSTED_PROXY_COUNT": 0}
    assert client_ip(request("192.0.2.10", "198.51.100.1")) == "192.0.2.10"


@pytest.mark.parametrize("proxies, forwarded, expected", [
    (1, "198.51.100.7", "198.51.100.7"),
    (1, "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # the client's own entry on the left is not believed
    (2, "6.6.6.6, 198.51.100.7, 10.0.0.2", "198.51.100.7"),
    (2, "198.51.100.7", "192.0.2.10"),  # fewer entries than proxies: not through our proxies, use the peer
    (1, "not-an-ip", None),
])
def test_the_right_hop_is_the_client(settings, proxies, forwarded, expected):
    settings.AUTHCORE = {**settings.AUTHCORE, "TRUSTED_PROXY_COUNT": proxies}
    assert client_ip(request("192.0.2.10", forwarded)) == expected


def test_behind_a_proxy_a_forged_left_entry_does_not_open_a_new_budget(api, settings, clock):
    settings.AUTHCORE = {**settings.AUTHCORE, "TRUSTED_PROXY_COUNT": 1,
                         "RATE_LIMITS": {"refresh": {"ip": "3/m"}}}
    for attempt in range(3):
        api.post("/api/auth/refresh/", {"refresh": "x" * 43}, format="json", REMOTE_ADDR="10.0.0.1",
                 HTTP_X_FORWARDED_FOR=f"6.6.6.{attempt}, 198.51.100.7")
    refused = api.post("/api/auth/refresh/", {"refresh": "x" * 43}, format="json", REMOTE_ADDR="10.0.0.1",
                       HTTP_X_FORWARDED_FOR="6.6.6.99, 198.51.100.7")
    assert_error(refused, 429, "rate_limited")
    # Another client behind the same proxy has a budget of its own.
    other = api.post("/api/auth/refresh/", {"refresh": "x" * 43}, format="json", REMOTE_ADDR="10.0.0.1",
                     HTTP_X_FORWARDED_FOR="198.51.100.8")
    assert other.status_code == 401
