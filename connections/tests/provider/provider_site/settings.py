"""Settings of the test provider. Independent of the host project: everything that varies per run (database
file, signing key, issuer, token lifetime) comes from the environment connections/tests/oauth_provider.py
sets for the child process."""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = os.environ["PROVIDER_SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "oauth2_provider",
]

MIDDLEWARE = [
    # First, so it records the status the client really gets.
    "provider_site.middleware.TokenRequestLog",
    "provider_site.middleware.RefreshWithoutRefreshToken",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "provider_site.urls"
WSGI_APPLICATION = "provider_site.wsgi.application"

TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [BASE_DIR / "templates"],
    "APP_DIRS": True,  # oauth2_provider's consent and token pages
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]

# One gunicorn worker with threads writes here while the test process only talks HTTP. WAL and BEGIN IMMEDIATE
# make concurrent token requests wait for each other instead of failing with "database is locked".
DATABASES = {"default": {
    "ENGINE": "django.db.backends.sqlite3",
    "NAME": os.environ["PROVIDER_DATABASE"],
    "OPTIONS": {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    },
}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Every token request checks the (hashed) client secret and every consent starts with a login: a slow hasher
# would dominate the tests' run time, and nothing here protects real credentials.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/o/authorized_tokens/"
USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "/static/"

OAUTH2_PROVIDER = {
    "SCOPES": {"openid": "OpenID Connect", "read": "Read your data", "write": "Change your data"},
    "PKCE_REQUIRED": True,
    "ACCESS_TOKEN_EXPIRE_SECONDS": int(os.environ.get("PROVIDER_ACCESS_TOKEN_SECONDS", "3600")),
    "ROTATE_REFRESH_TOKEN": os.environ.get("PROVIDER_KEEP_REFRESH_TOKEN", "false") != "true",
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    # Replaying a rotated-out refresh token revokes its whole family, as strict providers do.
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": Path(os.environ["PROVIDER_OIDC_KEY_FILE"]).read_text(),
    "OIDC_ISS_ENDPOINT": os.environ["PROVIDER_ISSUER"],
    # RFC 9700 behaviour now rather than at django-oauth-toolkit 4.0: no implicit or password grant, no
    # "plain" PKCE, no access token in a query string, and `iss` in every successful authorization response.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
}

TOKEN_REQUEST_LOG = os.environ["PROVIDER_TOKEN_LOG"]
KEEP_REFRESH_TOKEN = os.environ.get("PROVIDER_KEEP_REFRESH_TOKEN", "false") == "true"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
