"""The benchmark peer: a minimal Django project on djangorestframework-simplejwt with rotating refresh tokens
and the blacklist app, configured like the project wherever the two can be alike (same database server,
password hasher parameters, JWT claims and lifetimes), so that the comparison measures the auth code. With
PEER_MIDDLEWARE=lean it is the lean peer: only the middleware simplejwt needs.

Every value comes from the environment; bench/run.py sets them. No development defaults: the peer only runs
under the benchmark.
"""
from datetime import timedelta
import os

import dj_database_url

DEBUG = False
SECRET_KEY = os.environ["SECRET_KEY"]
JWT_SIGNING_KEY = os.environ["JWT_SIGNING_KEY"]
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "peerusers",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
]

# Django's startproject default stack, as a project that adds simplejwt to a site usually keeps it; with
# PEER_MIDDLEWARE=lean (the lean peer) only the middleware a JSON API on simplejwt needs: simplejwt
# authenticates in the view, so sessions, CSRF, auth, messages and clickjacking add nothing to it.
if os.environ.get("PEER_MIDDLEWARE") == "lean":
    MIDDLEWARE = [
        "django.middleware.security.SecurityMiddleware",
        "django.middleware.common.CommonMiddleware",
    ]
else:
    MIDDLEWARE = [
        "django.middleware.security.SecurityMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ]

ROOT_URLCONF = "peerproject.urls"
WSGI_APPLICATION = "peerproject.wsgi.application"
TEMPLATES = []

# Persistent connections with the project's lifetime. Connection health checks are Django's default (off)
# unless DATABASE_CONN_HEALTH_CHECKS says otherwise: a plain simplejwt deployment does not turn them on.
DATABASES = {
    "default": dj_database_url.config(
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=os.environ.get("DATABASE_CONN_HEALTH_CHECKS", "").lower() in {"1", "true", "yes", "on"},
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}  # simplejwt uses none

AUTH_USER_MODEL = "peerusers.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
PASSWORD_HASHERS = ["peerusers.hashers.Argon2idPasswordHasher"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework_simplejwt.authentication.JWTAuthentication"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=int(os.environ.get("JWT_ACCESS_TOKEN_LIFETIME", "300"))),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=7),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    # The project records last_login at every login; so does the peer.
    "UPDATE_LAST_LOGIN": True,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": JWT_SIGNING_KEY,
    "AUDIENCE": os.environ.get("JWT_AUDIENCE", "auth-service"),
    "ISSUER": os.environ.get("JWT_ISSUER", SITE_URL),
    "LEEWAY": 0,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "sub",
    "AUTH_HEADER_TYPES": ("Bearer",),
}

EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}
