"""Start-up checks: refuse settings that would weaken the tokens or contradict each other."""
from datetime import timedelta
import re

from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string

from .conf import app_settings
from .signing import HMAC_ALGORITHM, SigningKeyError, listed_keys, load_key_ring

HMAC_ALGORITHMS = {"HS256", "HS384", "HS512"}


@checks.register(checks.Tags.security)
def check_jwt_settings(app_configs=None, **kwargs):
    jwt = getattr(settings, "SIMPLE_JWT", {})
    errors = []
    # RFC 8725 §3.1: one algorithm, chosen by the server. simplejwt's own backend (which this service's tokens do not
    # use: sessions_app.signing signs them) stays on HMAC.
    if jwt.get("ALGORITHM", "HS256") not in HMAC_ALGORITHMS:
        errors.append(checks.Error("SIMPLE_JWT['ALGORITHM'] must be one of HS256, HS384, HS512.",
                                   id="sessions_app.E001"))
    key = jwt.get("SIGNING_KEY") or ""
    shared_secret_signs = app_settings.SIGNING_ALGORITHM == HMAC_ALGORITHM
    if shared_secret_signs and len(str(key).encode()) < 32:
        errors.append(checks.Error("SIMPLE_JWT['SIGNING_KEY'] must be at least 32 bytes (256 bits).",
                                   hint="Set JWT_SIGNING_KEY.", id="sessions_app.E002"))
    if shared_secret_signs and key == settings.SECRET_KEY:
        errors.append(checks.Error("SIMPLE_JWT['SIGNING_KEY'] must not be SECRET_KEY.",
                                   hint="Use a dedicated JWT_SIGNING_KEY.", id="sessions_app.E003"))
    errors += _signing_key_errors()
    if not jwt.get("AUDIENCE") or not jwt.get("ISSUER"):
        errors.append(checks.Error("SIMPLE_JWT['AUDIENCE'] and ['ISSUER'] must be set so tokens are checked "
                                   "against them.", id="sessions_app.E004"))
    if jwt.get("LEEWAY", 0):
        errors.append(checks.Error("SIMPLE_JWT['LEEWAY'] must be 0: access tokens expire exactly at exp.",
                                   id="sessions_app.E005"))
    if jwt.get("USER_ID_CLAIM", "user_id") != "sub":
        errors.append(checks.Error("SIMPLE_JWT['USER_ID_CLAIM'] must be 'sub'.", id="sessions_app.E006"))
    lifetime = jwt.get("ACCESS_TOKEN_LIFETIME", timedelta(minutes=5))
    if lifetime > timedelta(minutes=15):
        errors.append(checks.Warning("Access tokens live longer than 15 minutes; keep them short.",
                                     id="sessions_app.W001"))
    return errors


def _introspection_client_errors() -> list:
    clients = app_settings.INTROSPECTION_CLIENTS
    well_formed = isinstance(clients, dict) and all(
        isinstance(client_id, str) and re.fullmatch(r"[A-Za-z0-9._-]{1,64}", client_id)
        and isinstance(stored, str) and re.fullmatch(r"sha256:[0-9a-f]{64}", stored)
        for client_id, stored in clients.items())
    if well_formed:
        return []
    return [checks.Error(
        "SESSIONS_APP['INTROSPECTION_CLIENTS'] must map client ids (letters, digits, '.', '_', '-') to "
        "'sha256:<64 lowercase hex digits>', the hash of each secret (never the secret itself).",
        hint="`python manage.py make_introspection_client <id>` prints an entry.", id="sessions_app.E024")]


def _signing_key_errors() -> list:
    """The keys of sessions_app.signing: each one usable, none twice, and real ones unless DEBUG; and the resource
    servers that may introspect."""
    errors = _introspection_client_errors()
    try:
        empty = app_settings.SIGNING_ALGORITHM != HMAC_ALGORITHM and not listed_keys(app_settings.SIGNING_KEYS)
    except SigningKeyError:
        empty = False  # load_key_ring says what is wrong
    if empty and not settings.DEBUG:
        return [*errors, checks.Error(
            "SESSIONS_APP['SIGNING_KEYS'] is empty: no access token can be signed with DEBUG off.",
            hint="Set JWT_SIGNING_KEYS (`python manage.py make_signing_key` makes a key).", id="sessions_app.E021")]
    try:
        ring = load_key_ring(algorithm=app_settings.SIGNING_ALGORITHM, keys=app_settings.SIGNING_KEYS)
    except SigningKeyError as error:
        return [*errors, checks.Error(f"SESSIONS_APP['SIGNING_KEYS']: {error}", id="sessions_app.E020",
                                      hint="`python manage.py make_signing_key` makes a key.")]
    if ring.derived:
        errors.append(checks.Warning(
            "SESSIONS_APP['SIGNING_KEYS'] is empty: access tokens are signed with a key derived from SECRET_KEY "
            "(development only).", id="sessions_app.W020"))
    if app_settings.DPOP not in ("optional", "required"):
        errors.append(checks.Error("SESSIONS_APP['DPOP'] must be 'optional' or 'required'.", id="sessions_app.E025"))
    if not timedelta(seconds=1) <= app_settings.DPOP_PROOF_LIFETIME <= timedelta(minutes=5):
        errors.append(checks.Error("SESSIONS_APP['DPOP_PROOF_LIFETIME'] must be between 1 second and 5 minutes: a "
                                   "longer one lets a captured proof be used later.", id="sessions_app.E026"))
    if timedelta(0) > app_settings.JWKS_MAX_AGE:
        errors.append(checks.Error("SESSIONS_APP['JWKS_MAX_AGE'] must not be negative.", id="sessions_app.E022"))
    return errors


@checks.register()
def check_session_settings(app_configs=None, **kwargs):
    errors = app_settings.unknown_settings_errors("sessions_app.E010")
    absolute, idle = app_settings.ABSOLUTE_LIFETIME, app_settings.IDLE_TIMEOUT
    if absolute <= timedelta(0) or idle <= timedelta(0):
        errors.append(checks.Error("ABSOLUTE_LIFETIME and IDLE_TIMEOUT must be positive.", id="sessions_app.E011"))
    elif idle > absolute:
        errors.append(checks.Warning("IDLE_TIMEOUT is longer than ABSOLUTE_LIFETIME and so has no effect.",
                                     id="sessions_app.W010"))
    if any(database.get("ATOMIC_REQUESTS") for database in settings.DATABASES.values()):
        errors.append(checks.Error(
            "ATOMIC_REQUESTS must be off: the flows commit on their own, and a request-wide transaction would "
            "roll back what an error response must keep (ending a family whose refresh token was replayed).",
            id="sessions_app.E013"))
    grace = app_settings.REFRESH_REUSE_GRACE
    if grace < timedelta(0) or grace > timedelta(minutes=1):
        errors.append(checks.Error("REFRESH_REUSE_GRACE must be between 0 and 60 seconds; a wider window lets a "
                                   "stolen parent token be exchanged.", id="sessions_app.E012"))
    if not app_settings.REFRESH_COOKIE_SECURE and not settings.DEBUG:
        errors.append(checks.Error(
            "REFRESH_COOKIE_SECURE may be off only with DEBUG (local http): the refresh cookie would travel "
            "over plain HTTP.", id="sessions_app.E014"))
    if app_settings.REFRESH_COOKIE_SAMESITE not in ("Strict", "Lax"):
        errors.append(checks.Error(
            "REFRESH_COOKIE_SAMESITE must be 'Strict' or 'Lax'; 'None' would send the cookie with every "
            "cross-site request.", id="sessions_app.E015"))
    if "django.middleware.csrf.CsrfViewMiddleware" not in settings.MIDDLEWARE:
        errors.append(checks.Error(
            "django.middleware.csrf.CsrfViewMiddleware must be installed: cookie-mode refresh and logout rely on "
            "Django's CSRF protection and its csrftoken cookie.", id="sessions_app.E016"))
    errors += _browser_session_middleware_errors()
    if timedelta(0) >= app_settings.RECENT_AUTHENTICATION_WINDOW:
        errors.append(checks.Error("RECENT_AUTHENTICATION_WINDOW must be positive.", id="sessions_app.E019"))
    errors += _session_count_errors()
    plain_http = [origin for origin in getattr(settings, "CORS_ALLOWED_ORIGINS", [])
                  if not str(origin).startswith("https://")]
    if plain_http and not settings.DEBUG:
        errors.append(checks.Error(
            f"CORS_ALLOWED_ORIGINS must be https:// origins with DEBUG off: {', '.join(plain_http)}. A script "
            "injected into a page served over plain HTTP could use the refresh cookie's endpoints.",
            id="sessions_app.E017"))
    return errors


def _positive_integer(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _session_count_errors() -> list:
    """The cap on a user's live sessions and the page size of their list: whole numbers a sign-in and a page can
    work with (a cap of 0 would end the session a sign-in has just opened)."""
    errors = []
    cap = app_settings.MAX_SESSIONS_PER_USER
    if cap is not None and not _positive_integer(cap):
        errors.append(checks.Error(
            f"SESSIONS_APP['MAX_SESSIONS_PER_USER'] must be a positive integer or None (no cap), not {cap!r}.",
            id="sessions_app.E027"))
    page_size = app_settings.SESSIONS_PAGE_SIZE
    # A bigger page would bring back the unbounded list that the pages exist to avoid.
    if not _positive_integer(page_size) or page_size > 1000:
        errors.append(checks.Error(
            f"SESSIONS_APP['SESSIONS_PAGE_SIZE'] must be an integer from 1 to 1000, not {page_size!r}.",
            id="sessions_app.E028"))
    return errors


BROWSER_SESSION_MIDDLEWARE = "sessions_app.browser.BrowserSessionMiddleware"
AUTHENTICATION_MIDDLEWARE = "django.contrib.auth.middleware.AuthenticationMiddleware"


def _position_of(middleware_path: str) -> int | None:
    """Where MIDDLEWARE has that middleware or a subclass of it."""
    wanted = import_string(middleware_path)
    for index, path in enumerate(settings.MIDDLEWARE):
        try:
            found = import_string(path)
        except ImportError:
            continue
        if isinstance(found, type) and issubclass(found, wanted):
            return index
    return None


def _browser_session_middleware_errors() -> list:
    """Without the middleware a browser sign-in would never be checked against its session row (an ended
    session would stay signed in), and the account pages would see nobody signed in. A subclass of either
    counts (a project's own, as config.middleware's that the JSON API skips), as in Django's admin checks."""
    browser, authentication = (_position_of(path) for path in (BROWSER_SESSION_MIDDLEWARE, AUTHENTICATION_MIDDLEWARE))
    if browser is not None and authentication is not None and browser > authentication:
        return []
    return [checks.Error(
        f"{BROWSER_SESSION_MIDDLEWARE} must be in MIDDLEWARE, after {AUTHENTICATION_MIDDLEWARE}.",
        hint="It checks a browser sign-in of the account pages against its session on every request, so that "
             "a session ended anywhere signs the browser out at once.", id="sessions_app.E018")]
