"""Settings for the test suite: the production settings with test secrets and plain http."""
import os

os.environ["ENV_FILE"] = ""  # a developer's .env (DEBUG on) must not change what the tests run against
os.environ.setdefault("SECRET_KEY", "test-secret-key-" + "s" * 48)
os.environ.setdefault("JWT_SIGNING_KEY", "test-jwt-signing-key-" + "j" * 32)
# The access tokens' key (ES256): for tests only, published here on purpose. Servers the tests start get it too.
TEST_SIGNING_KEYS = ('[{"kty": "EC", "crv": "P-256", "x": "hkAWA7PAo9L1ulM43-rpuaSPxnRo7k4pHLjZegQqAfE", '
                     '"y": "M_KHV6kyQr3eYaDjzwjVGgf3Kz3zsI3i2tXFAoB5zJw", '
                     '"d": "OvZX6uAJZufQ0TI43IzbRDGxIPdgNGfbyfyPhQsT96E", "alg": "ES256"}]')
os.environ.setdefault("JWT_SIGNING_KEYS", TEST_SIGNING_KEYS)
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SITE_URL", "http://testserver")
os.environ.setdefault("MFA_ENCRYPTION_KEYS", "dGVzdC1tZmEta2V5LXRlc3QtbWZhLWtleS10ZXN0LW0")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")

from config.settings import *  # noqa: E402,F403

if "MAILERS" in globals():  # Django 6.1 and later (config/settings.py)
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
else:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tasks (emails) run in the request, after commit, so a test can read mail.outbox at once. The durable
# queue and its worker, used in production, have their own tests (accounts/tests/test_email_queue.py,
# accounts/tests/test_email_worker_processes.py), which switch TASKS back to the database backend.
TASKS = {"default": {"BACKEND": f"{TASKS_API}.backends.immediate.ImmediateBackend"}}  # noqa: F405
# The suite is one process: a local-memory cache (the SQLite run, no REDIS_URL) is a shared one here.
AUTHCORE = {**AUTHCORE, "SINGLE_PROCESS": True}  # noqa: F405
