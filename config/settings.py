"""Host project settings. Every value comes from the environment, with a default for local development.

The reusable apps (`accounts`, `sessions_app`, `authcore`, `connections`) read only their own namespaced
settings (`ACCOUNTS`, `SESSIONS_APP`, `AUTHCORE`, `CONNECTIONS`) plus standard Django/DRF/simplejwt ones;
nothing here is imported by them.
"""
from datetime import timedelta
from importlib.util import find_spec
import json
import os
from pathlib import Path
import secrets
import select

from botocore.config import Config as BotocoreConfig
from corsheaders.defaults import default_headers as cors_default_headers
from csp.constants import NONE, SELF
import dj_database_url
import django
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent

# A development checkout keeps its settings in a git-ignored `.env` (written by `make run`: DEBUG on, random
# secrets), so every manage.py command works without typing them. What the environment says wins over the
# file. ENV_FILE names another file, or none (empty: the test suite reads no file). A deployment sets real
# variables; with DEBUG off the checks below still refuse development secrets.
_env_file = os.environ.get("ENV_FILE", str(BASE_DIR / ".env"))
if _env_file:
    load_dotenv(_env_file, override=False)


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


# Development mode: Django's debug pages, plain http, and development stand-ins for the secrets and the email
# backend. Never on in production.
DEBUG = env_bool("DEBUG", False)

# Development placeholders. With DEBUG off the service refuses to start with either of them (or none).
DEV_SECRET_KEY = "dev-only-secret-key-never-use-in-production-0000000000000000"
DEV_JWT_SIGNING_KEY = "dev-only-jwt-signing-key-never-use-in-production-000000000000"

# Django's secret key (sessions, CSRF, signed links and cookies): a random value of at least 50 characters.
SECRET_KEY = env("SECRET_KEY", DEV_SECRET_KEY if DEBUG else "")
# Access tokens are signed with a private key (JWT_SIGNING_ALGORITHM ES256, the default, or EdDSA) from
# JWT_SIGNING_KEYS: a JSON list of private JWKs, newest first (the first signs, all verify; `manage.py
# make_signing_key` makes one; docs/how-to/rotate-signing-keys.md). Other services check them with the public keys
# at /.well-known/jwks.json. JWT_SIGNING_ALGORITHM=HS256 signs with the shared secret JWT_SIGNING_KEY instead (a
# random value of at least 32 bytes, not SECRET_KEY), which only who holds it can check.
JWT_SIGNING_ALGORITHM = env("JWT_SIGNING_ALGORITHM", "ES256")
JWT_SIGNING_KEYS = env("JWT_SIGNING_KEYS", "")
JWT_SIGNING_KEY = env("JWT_SIGNING_KEY", DEV_JWT_SIGNING_KEY if DEBUG else "")
if not DEBUG:
    if not SECRET_KEY or SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set to a random value of at least 50 characters when DEBUG is off.")
    if JWT_SIGNING_ALGORITHM == "HS256":
        # RFC 8725 §3.5 / docs/security.md 16: a dedicated key of at least 256 bits, never SECRET_KEY.
        if not JWT_SIGNING_KEY or JWT_SIGNING_KEY == DEV_JWT_SIGNING_KEY or len(JWT_SIGNING_KEY.encode()) < 32:
            raise ImproperlyConfigured(
                "JWT_SIGNING_KEY must be set to a random value of at least 32 bytes when DEBUG is off.")
        if JWT_SIGNING_KEY == SECRET_KEY:
            raise ImproperlyConfigured("JWT_SIGNING_KEY must differ from SECRET_KEY.")
    elif not JWT_SIGNING_KEYS.strip() or JWT_SIGNING_KEYS.strip().replace(" ", "") == "[]":
        raise ImproperlyConfigured(
            "JWT_SIGNING_KEYS must be set when DEBUG is off: `python manage.py make_signing_key` makes a key (or set "
            "JWT_SIGNING_ALGORITHM=HS256 to sign with the shared secret JWT_SIGNING_KEY).")
    if JWT_SIGNING_ALGORITHM != "HS256" and (not JWT_SIGNING_KEY or JWT_SIGNING_KEY == DEV_JWT_SIGNING_KEY):
        # Unused with a private key; never a value anyone knows, should anything sign with simplejwt's own backend.
        JWT_SIGNING_KEY = secrets.token_urlsafe(48)

# The host names this service answers to; a request for any other gets 400.
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
# This service's public base URL: links in emails, the connections' default callback, the access tokens'
# issuer. A trailing slash is dropped.
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# Browser apps on other origins (https://app.example.com calling https://auth.example.com): an explicit
# allow-list, empty by default. Listed origins may call /api/auth/ with credentials (django-cors-headers),
# and the refresh cookie's endpoints trust them in their CSRF check (sessions_app/api/transport.py); they
# are not added to CSRF_TRUSTED_ORIGINS, which would trust them on every form, the admin's included. Any
# other origin can neither read our answers nor use the refresh cookie (docs/explanation/sessions.md, "Browser apps").
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", "")
CORS_ALLOW_CREDENTIALS = True
CORS_URLS_REGEX = r"^/api/(auth|connections)/.*$"
# DPoP (sessions_app/dpop.py): a page on another origin sends its proofs in the DPoP header and reads new server
# nonces from DPoP-Nonce. Link: the next and previous pages of GET sessions/.
CORS_ALLOW_HEADERS = (*cors_default_headers, "dpop")
CORS_EXPOSE_HEADERS = ["DPoP-Nonce", "WWW-Authenticate", "Link"]
# Further origins Django's CSRF check accepts on the pages' forms (behind a proxy that changes the origin, say).
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# Django's Tasks API: built into Django from 6.0 (django.tasks); before, the django-tasks backport (django_tasks),
# which is then installed as an app. django-tasks-db and authcore.tasks use whichever is there.
TASKS_API = "django.tasks" if find_spec("django.tasks") else "django_tasks"

INSTALLED_APPS = [
    # Before django.contrib.auth: its `changepassword` command (which finds a user by any spelling of the
    # address) replaces Django's; same-named commands resolve to the first app listed.
    "accounts",
    # The admin with the accounts' throttled login (accounts/admin_site.py), in place of "django.contrib.admin".
    "accounts.apps.AccountsAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "csp",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's assets, served from here (no CDN)
    "django_ratelimit",
    *(["django_tasks"] if TASKS_API == "django_tasks" else []),
    "django_tasks_db",
    "authcore",
    "sessions_app",
    "connections",
    "mfa",
]

MIDDLEWARE = [
    # The middleware of config/middleware.py that subclasses Django's (sessions, auth, the pages' sign-in,
    # messages) and the static files are for pages: a request to the JSON API goes past them
    # (config.middleware.SkippedByTheAPI says why, and what that saves).
    # /healthz and /readyz, answered before anything else (config/health.py).
    "config.health.HealthCheckMiddleware",
    # An id for each request, on its log lines and in its X-Request-ID header (authcore/logs.py).
    "authcore.logs.RequestIdMiddleware",
    # The language of the answer (the cookie, then Accept-Language), active before any middleware below can
    # answer (a refused host, a 503), and named in Content-Language (authcore/locale.py: Django's
    # LocaleMiddleware without the URL-prefix lookups this project does not use).
    "authcore.locale.LanguageMiddleware",
    # It answers CORS preflight requests itself and adds the CORS headers to every answer.
    "config.middleware.CorsMiddleware",  # django-cors-headers', with a short way for requests with no Origin
    "django.middleware.security.SecurityMiddleware",
    # Static files (the admin's, the pages' style sheet) served by the application itself, compressed and
    # with long cache lifetimes, so a deployment needs no separate file server for them.
    "config.middleware.StaticFilesMiddleware",
    "config.middleware.DocumentCSPMiddleware",  # django-csp's, for HTML responses
    # A page whose database is unreachable answers 503, not 500 (the API does in its exception handler).
    "config.middleware.DatabaseUnavailableMiddleware",
    # A service error a page does not answer itself is a page of its status, never a 500 (authcore/pages.py).
    "authcore.pages.ServiceErrorPageMiddleware",
    "config.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "config.middleware.AuthenticationMiddleware",
    # A sign-in on the account pages is a session row, checked on every request: one ended anywhere signs the
    # browser out at once (sessions_app/browser.py).
    "config.middleware.BrowserSessionMiddleware",
    "config.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.links",
            ],
        },
    },
]

# Embedded default: a SQLite file. Production: DATABASE_URL=postgres://user:pass@host:5432/name (psycopg 3).
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=env_bool("DATABASE_CONN_HEALTH_CHECKS", True),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, with a connection health check that reads the socket instead of sending SELECT 1,
    # and the hot paths' fixed statements prepared once per connection (authcore/backends/postgresql).
    # Behind a transaction-mode pooler that cannot keep prepared statements (PgBouncer before 1.22), set
    # DATABASE_PREPARED_STATEMENTS=false.
    DATABASES["default"]["ENGINE"] = "authcore.backends.postgresql"
    DATABASES["default"].setdefault("OPTIONS", {})["prepared_statements"] = env_bool(
        "DATABASE_PREPARED_STATEMENTS", True)
    # An unreachable database server fails the request (and /readyz) in seconds, not after the kernel's
    # TCP timeout.
    DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 3))
    # A statement waiting longer than this (a lock held elsewhere, a runaway query) is cancelled and the
    # request answers 503; the serving entry points (config/wsgi.py, asgi.py) set 15 s, commands none.
    statement_timeout = env_int("DATABASE_STATEMENT_TIMEOUT_MS", 0)
    if statement_timeout > 0:
        # Added to whatever libpq options DATABASE_URL gives (a search_path, say), never in their place.
        options = DATABASES["default"]["OPTIONS"].get("options", "")
        DATABASES["default"]["OPTIONS"]["options"] = f"{options} -c statement_timeout={statement_timeout}".strip()
    # A connection pool in each process (Django's, psycopg_pool) of at most this many connections, for a server
    # that runs requests on many threads (ASGI, gunicorn's gthread workers): a request borrows a connection and
    # hands it back when it ends. 0, the default: no pool; each thread keeps its own connection for
    # DATABASE_CONN_MAX_AGE seconds, which is right for sync workers and piles up connections under ASGI.
    pool_max_size = env_int("DATABASE_POOL_MAX_SIZE", 0)
    if pool_max_size > 0:
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django's pool: each request's connection goes back at its end
        # The backend checks every loan by reading the socket, where the system can poll one (Linux, macOS);
        # Django's check would add an empty query to each.
        if hasattr(select, "poll"):
            DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
        DATABASES["default"]["OPTIONS"]["pool"] = {
            # Connections the pool keeps open when idle.
            "min_size": min(env_int("DATABASE_POOL_MIN_SIZE", 2), pool_max_size),
            "max_size": pool_max_size,
            # Seconds a request waits for a connection when all are lent, then answers 503.
            "timeout": env_float("DATABASE_POOL_TIMEOUT", 5.0),
        }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite ignores SELECT ... FOR UPDATE. Taking the write lock when a transaction begins (instead of at
    # its first write) serialises read-then-write transactions such as a refresh-token replay, where two
    # deferred transactions would otherwise deadlock into "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The shared cache the rate limits and the login throttling count in (redis://host:6379/0). Unset: a cache in
# each process's memory, for development or a service that runs as one process (AUTHCORE SINGLE_PROCESS).
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    # Short timeouts: with Redis unreachable or stalled, a request must get its answer (503 or a pass,
    # per rate-limit scope) at once, not hang until the worker is killed.
    CACHES = {"default": {
        # Django's Redis cache with a one-round-trip, atomic increment (authcore/backends/redis_cache.py).
        "BACKEND": "authcore.backends.redis_cache.RedisCache", "LOCATION": REDIS_URL,
        "OPTIONS": {"socket_connect_timeout": env_float("REDIS_CONNECT_TIMEOUT", 0.5),
                    "socket_timeout": env_float("REDIS_TIMEOUT", 0.5)},
    }}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# django-ratelimit counts in the default cache. Its check lists only django-redis as supported; our Redis
# cache (Django's, with an atomic one-script increment) is as good, so that warning is silenced. Local memory
# is fine for one development process only, which is why its error is silenced only when no REDIS_URL is given.
RATELIMIT_ENABLE = env_bool("RATELIMIT_ENABLE", True)
RATELIMIT_IP_META_KEY = "authcore.requestmeta.ratelimit_client_ip"
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"] + ([] if REDIS_URL else ["django_ratelimit.E003"])

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
PASSWORD_HASHERS = [
    "accounts.hashers.Argon2idPasswordHasher",
    # Older hashes still verify and are upgraded to Argon2id at the next successful login.
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
# NIST SP 800-63B-4: length, not composition (no NumericPasswordValidator).
AUTH_PASSWORD_VALIDATORS = [
    # Django's, made to skip passwords past ACCOUNTS PASSWORD_MAX_LENGTH: Django's forms and commands run every
    # validator even after the length check failed, so each one must bound its own work.
    {"NAME": "accounts.password_validation.UserAttributeSimilarityValidator",
     "OPTIONS": {"user_attributes": ("email", "name")}},
    # The shortest password accepted.
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": env_int("PASSWORD_MIN_LENGTH", 15)}},
    {"NAME": "accounts.password_validation.MaximumLengthValidator"},
    # Django's common-password list plus long common passphrases, and context words (docs/security.md 6).
    {"NAME": "accounts.password_validation.PasswordBlocklistValidator"},
]

# Access tokens: JWTs signed with the keys above (sessions_app/signing.py), valid for JWT_ACCESS_TOKEN_LIFETIME
# seconds, bound to this audience and issuer; sessions_app's system checks refuse weaker settings.
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env_int("JWT_ACCESS_TOKEN_LIFETIME", 300)),
    "ALGORITHM": "HS256",
    "SIGNING_KEY": JWT_SIGNING_KEY,
    "AUDIENCE": env("JWT_AUDIENCE", "auth-service"),
    "ISSUER": env("JWT_ISSUER", SITE_URL),
    "LEEWAY": 0,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "sub",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "TOKEN_TYPE_CLAIM": "token_type",
    "UPDATE_LAST_LOGIN": False,
}

SESSIONS_APP = {
    "ABSOLUTE_LIFETIME": timedelta(days=env_int("SESSION_ABSOLUTE_LIFETIME_DAYS", 30)),
    "IDLE_TIMEOUT": timedelta(days=env_int("SESSION_IDLE_TIMEOUT_DAYS", 7)),
    "REFRESH_REUSE_GRACE": timedelta(seconds=env_int("REFRESH_REUSE_GRACE_SECONDS", 0)),
    # Secure may be turned off only with DEBUG (local http; a system check refuses it otherwise).
    "REFRESH_COOKIE_SECURE": env_bool("REFRESH_COOKIE_SECURE", True),
    "REFRESH_COOKIE_SAMESITE": env("REFRESH_COOKIE_SAMESITE", "Strict"),
    "SIGNING_ALGORITHM": JWT_SIGNING_ALGORITHM,
    "SIGNING_KEYS": JWT_SIGNING_KEYS,
    "JWKS_MAX_AGE": timedelta(seconds=env_int("JWKS_MAX_AGE", 300)),
    # DPoP (sender-constrained tokens): "optional" or "required"; server nonces on or off.
    "DPOP": env("DPOP", "optional"),
    "DPOP_NONCE": env_bool("DPOP_NONCE", False),
    "DPOP_ORIGIN": SITE_URL,  # the public address: what proofs name, whatever the proxies in front do
    # JSON: {"<client id>": "sha256:<hex>"}, the resource servers that may introspect tokens (`manage.py
    # make_introspection_client <id>` prints the secret once and the entry to add).
    "INTROSPECTION_CLIENTS": json.loads(env("INTROSPECTION_CLIENTS", "{}")),
}
AUTHCORE = {
    "TRUSTED_PROXY_COUNT": env_int("TRUSTED_PROXY_COUNT", 0),
    # Without REDIS_URL and with DEBUG off the service refuses to start (authcore.E006) unless this says it
    # runs as one process (rate-limit counts are per process otherwise).
    "SINGLE_PROCESS": env_bool("SINGLE_PROCESS", False),
}
ACCOUNTS = {
    "SITE_URL": SITE_URL,
    "APP_URL": env("APP_URL", ""),
}
# Connected accounts (connections/conf.py). CONNECTIONS_PROVIDERS is JSON: {"<name>": {"client_id": ...,
# "client_secret": ..., "scopes": [...], "discovery_url" or "authorization_url" + "token_url" (+
# "revocation_url")}}; keep it in the environment like every secret. CONNECTIONS_ENCRYPTION_KEYS: comma-separated
# keys, newest first (`python -c "import connections.crypto as c; print(c.generate_key())"` makes one).
try:
    CONNECTION_PROVIDERS = json.loads(env("CONNECTIONS_PROVIDERS", "{}"))
except ValueError:
    raise ImproperlyConfigured("CONNECTIONS_PROVIDERS must be JSON.") from None
CONNECTIONS = {
    "PROVIDERS": CONNECTION_PROVIDERS,
    "ENCRYPTION_KEYS": env_list("CONNECTIONS_ENCRYPTION_KEYS", ""),
    "SITE_URL": SITE_URL,
    "APP_URL": env("APP_URL", ""),
}
# Providers configured and nothing to encrypt their tokens with: refuse to start rather than store them
# unprotected (in DEBUG a development key is derived from SECRET_KEY, with a warning, connections.W001).
if not DEBUG and CONNECTION_PROVIDERS and not CONNECTIONS["ENCRYPTION_KEYS"]:
    raise ImproperlyConfigured("CONNECTIONS_ENCRYPTION_KEYS must be set when connection providers are configured "
                               "and DEBUG is off.")

# Second factors (mfa/conf.py). MFA_ENCRYPTION_KEYS: comma-separated keys for the authenticator-app secrets, newest
# first (`python -c "import authcore.vault as v; print(v.generate_key())"` makes one); required with DEBUG off
# (check mfa.E002). MFA_REQUIRE_FOR_STAFF: staff must have a second factor before the admin opens.
MFA = {
    "ENCRYPTION_KEYS": env_list("MFA_ENCRYPTION_KEYS", ""),
    "REQUIRE_FOR_STAFF": env_bool("MFA_REQUIRE_FOR_STAFF", False),
}

REST_FRAMEWORK = {
    # The apps' own views set their authentication, parsers and error handler themselves; these defaults
    # are for any further API a host project adds.
    "DEFAULT_AUTHENTICATION_CLASSES": ["sessions_app.authentication.SessionJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["authcore.api.parsers.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "authcore.api.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "authcore.api.schema.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    # Operation ids drop it (auth_login_create); /.well-known/jwks.json is outside it.
    "SCHEMA_PATH_PREFIX": "/api/",
    "TITLE": "Auth service API",
    "DESCRIPTION": "Login sessions as rotating refresh-token families, short-lived JWT access tokens, "
    "registration, email verification and password reset.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"ErrorCodeEnum": "authcore.errors.ERROR_CODE_CHOICES"},
    # Swagger UI from drf-spectacular-sidecar's files, under our CSP, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
# The Swagger UI at /api/docs/ (the schema at /api/schema/ stays): an operator may turn it off.
API_DOCS_ENABLED = env_bool("API_DOCS_ENABLED", True)

# The console backend prints emails, links included, to the log: development only. With DEBUG off the
# backend must be chosen explicitly (django_ses.SESBackend in production).
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend" if DEBUG else "")
if not EMAIL_BACKEND:
    raise ImproperlyConfigured("EMAIL_BACKEND must be set when DEBUG is off (e.g. django_ses.SESBackend).")
# The sender of every email.
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Auth Service <no-reply@example.com>")
# django-ses (EMAIL_BACKEND=django_ses.SESBackend); credentials come from the standard AWS variables.
AWS_SES_REGION_NAME = env("AWS_SES_REGION_NAME", env("AWS_DEFAULT_REGION", "us-east-1"))
AWS_SES_REGION_ENDPOINT = env("AWS_SES_REGION_ENDPOINT", f"email.{AWS_SES_REGION_NAME}.amazonaws.com")
# A local SES emulator over plain http (moto's server, say) for running the whole flow with real emails.
AWS_SES_REGION_ENDPOINT_URL = env("AWS_SES_REGION_ENDPOINT_URL") or f"https://{AWS_SES_REGION_ENDPOINT}"
# The file backend (django.core.mail.backends.filebased.EmailBackend) writes each email here.
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH") or str(BASE_DIR / "sent-emails")
# django-ses paces sends to this fraction of the account's SES send rate (0 turns the pacing off).
AWS_SES_AUTO_THROTTLE = env_float("AWS_SES_AUTO_THROTTLE", 0.5) or None
# Bounded SES calls, and no retries inside boto3: a throttled or failed send goes back to the task queue,
# which retries with backoff and keeps what finally fails (authcore/tasks.py). The timeouts keep a send
# well inside the task lease (AUTHCORE TASK_LEASE).
AWS_SES_CONFIG = BotocoreConfig(connect_timeout=5, read_timeout=20,
                                retries={"mode": "standard", "total_max_attempts": 1})
# From Django 6.1 the email backend is configured in MAILERS (EMAIL_BACKEND and EMAIL_FILE_PATH are deprecated
# there, and not allowed beside it): the same variables give the same backend as its default mailer.
if django.VERSION >= (6, 1):
    MAILERS = {"default": {"BACKEND": EMAIL_BACKEND, "OPTIONS": (
        {"file_path": EMAIL_FILE_PATH} if EMAIL_BACKEND == "django.core.mail.backends.filebased.EmailBackend" else {})}}
    del EMAIL_BACKEND, EMAIL_FILE_PATH

# Background tasks (emails) live in this database, written in the same transaction as the change they
# belong to, and are run by `manage.py task_worker` (authcore/tasks.py).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# The languages the service speaks: English and every locale its apps ship catalogs for (docs/how-to/translations.md
# says how to add one). A page's language comes from the language cookie its switcher sets, then the browser's
# Accept-Language; an API answer's from Accept-Language; an email's from its recipient's `language`. A language
# not listed falls back to LANGUAGE_CODE.
LANGUAGE_CODE = "en"
# This project's own words (the home page); each app's are in its own locale/ folder.
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGES = [
    ("en", "English"),
    ("de", "Deutsch"),
    ("es", "Español"),
    ("fr", "Français"),
    ("ar", "العربية"),
]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# `manage.py collectstatic` gathers the static files here; WhiteNoise serves them from here.
STATIC_ROOT = Path(env("STATIC_ROOT") or BASE_DIR / "staticfiles")
WHITENOISE_USE_FINDERS = True  # before `collectstatic` has run (config.middleware.StaticFilesMiddleware)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
LOGIN_URL = "/admin/login/"

# Browser and transport hardening; relaxed only in DEBUG (local http).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Cookie flags a deployment may need to change (a site served under one parent domain, say) are settable from
# the environment; the system checks still refuse insecure ones with DEBUG off.
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = env("SESSION_COOKIE_SAMESITE", "Lax")
CSRF_COOKIE_SAMESITE = env("CSRF_COOKIE_SAMESITE", "Lax")
SESSION_COOKIE_DOMAIN = env("SESSION_COOKIE_DOMAIN") or None
CSRF_COOKIE_DOMAIN = env("CSRF_COOKIE_DOMAIN") or None
# The language switcher's cookie: no script reads it, and like the session cookie it goes over https only.
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
# HTTP Strict Transport Security: browsers come back over https only, for this many seconds (none with DEBUG).
SECURE_HSTS_SECONDS = 0 if DEBUG else env_int("SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Content-Security-Policy on every page (django-csp; config/middleware.py): scripts, styles, images and
# fonts only from this origin, no inline script anywhere (the pages have none; the admin's are files; the
# API docs load their bootstrap from a separate URL), no plugins, no <base> rewriting, forms post only here,
# and no framing.
# An XSS that gets markup into a page still cannot run script or send a form elsewhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    },
}
# Behind trusted proxies (AUTHCORE TRUSTED_PROXY_COUNT), a request is secure when the proxy received it over
# https, as its X-Forwarded-Proto header says.
if env_int("TRUSTED_PROXY_COUNT", 0) > 0:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Plain lines by default; LOG_FORMAT=json gives one JSON object a line (authcore/logs.py), with the event
# name, request id, user, session and IP address where a line has them. Every line goes through the filter
# that adds the request id and blanks emailed-link tokens.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "authcore.logs.RequestContextFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
                   "json": {"()": "authcore.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["request_context"],
                             "formatter": "json" if env("LOG_FORMAT", "plain") == "json" else "plain"},
                 "discard": {"class": "logging.NullHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        # Django's own loggers go to the root handler only: with DEBUG its default "django" handler would
        # print every line a second time.
        "django": {"handlers": [], "propagate": True},
        # Scanners send any Host header all day; each would be an ERROR with a traceback. The answer (400,
        # the envelope under /api/) is all there is to it.
        "django.security.DisallowedHost": {"handlers": ["discard"], "propagate": False},
    },
}

REST_FRAMEWORK["TEST_REQUEST_DEFAULT_FORMAT"] = "json"
