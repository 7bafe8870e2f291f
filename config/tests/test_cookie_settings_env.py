"""The cookie flags a deployment changes are settable from the environment (config/settings.py), and the
system checks still hold them to the rules: the refresh cookie's Secure flag may be dropped only with DEBUG."""
import json

from config.settings_test import TEST_SIGNING_KEYS

from .test_dev_env import manage

SHOW = ("import json; from django.conf import settings as s; print(json.dumps({"
        "'refresh_secure': s.SESSIONS_APP['REFRESH_COOKIE_SECURE'], 'refresh_samesite': s.SESSIONS_APP["
        "'REFRESH_COOKIE_SAMESITE'], 'session_domain': s.SESSION_COOKIE_DOMAIN, 'csrf_domain': s.CSRF_COOKIE_DOMAIN,"
        " 'session_samesite': s.SESSION_COOKIE_SAMESITE, 'session_secure': s.SESSION_COOKIE_SECURE}))")
DEVELOPMENT = {"DEBUG": "true", "SECRET_KEY": "k" * 60, "JWT_SIGNING_KEY": "j" * 48, "ENV_FILE": ""}


def shown(**env) -> dict:
    result = manage("shell", "-c", SHOW, **{**DEVELOPMENT, **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_defaults_and_what_the_environment_changes():
    assert shown() == {"refresh_secure": True, "refresh_samesite": "Strict", "session_domain": None,
                       "csrf_domain": None, "session_samesite": "Lax", "session_secure": False}
    assert shown(REFRESH_COOKIE_SECURE="false", REFRESH_COOKIE_SAMESITE="Lax", SESSION_COOKIE_DOMAIN=".example.com",
                 CSRF_COOKIE_DOMAIN=".example.com", SESSION_COOKIE_SAMESITE="Strict", SESSION_COOKIE_SECURE="true") == {
        "refresh_secure": False, "refresh_samesite": "Lax", "session_domain": ".example.com",
        "csrf_domain": ".example.com", "session_samesite": "Strict", "session_secure": True}


def test_an_insecure_refresh_cookie_is_refused_with_debug_off():
    refused = manage("check", DEBUG="false", SECRET_KEY="k" * 60, JWT_SIGNING_KEYS=TEST_SIGNING_KEYS, ENV_FILE="",
                     REFRESH_COOKIE_SECURE="false")
    assert refused.returncode != 0
    assert "REFRESH_COOKIE_SECURE" in refused.stderr
