"""System checks: a provider with missing or malformed configuration, and the encryption keys."""
from django.conf import settings
from django.core import checks

from .conf import app_settings
from .crypto import parse_key
from .providers import AUTH_METHODS, ENDPOINT_KEYS, OPTIONAL_KEYS, REQUIRED_KEYS, RESERVED_AUTHORIZE_PARAMS, url_problem


def provider_problems(name, config) -> list[str]:
    if not isinstance(name, str) or not name.replace("-", "").replace("_", "").isalnum() or len(name) > 64:
        return ["the name must be letters, digits, '-' or '_' (at most 64)"]
    if not isinstance(config, dict):
        return ["must be a dict"]
    problems = [f"missing {key!r}" for key in sorted(REQUIRED_KEYS) if not config.get(key)]
    unknown = set(config) - REQUIRED_KEYS - ENDPOINT_KEYS - OPTIONAL_KEYS
    problems += [f"unknown key {key!r}" for key in sorted(unknown)]
    if config.get("discovery_url"):
        endpoints = ["discovery_url", *(key for key in sorted(ENDPOINT_KEYS) if config.get(key))]
    else:
        problems += [f"missing {key!r} (or a 'discovery_url')" for key in ("authorization_url", "token_url")
                     if not config.get(key)]
        endpoints = [key for key in sorted(ENDPOINT_KEYS) if config.get(key)]
    for key in endpoints + (["redirect_uri"] if config.get("redirect_uri") else []):
        problem = url_problem(config.get(key))
        if problem:
            problems.append(f"{key!r} {problem}")
    scopes = config.get("scopes", [])
    if not isinstance(scopes, (list, tuple)) or not all(isinstance(scope, str) and scope for scope in scopes):
        problems.append("'scopes' must be a list of strings")
    params = config.get("authorize_params", {})
    if not isinstance(params, dict):
        problems.append("'authorize_params' must be a dict")
    elif set(params) & RESERVED_AUTHORIZE_PARAMS:
        problems.append(f"'authorize_params' must not set {sorted(set(params) & RESERVED_AUTHORIZE_PARAMS)}")
    if config.get("token_endpoint_auth_method", "client_secret_basic") not in AUTH_METHODS:
        problems.append(f"'token_endpoint_auth_method' must be one of {sorted(AUTH_METHODS)}")
    return problems


@checks.register()
def check_connections(app_configs=None, **kwargs):
    errors = []
    providers = app_settings.PROVIDERS
    if not isinstance(providers, dict):
        return [checks.Error("CONNECTIONS['PROVIDERS'] must be a dict of provider name -> settings.",
                             id="connections.E001")]
    for name, config in providers.items():
        for problem in provider_problems(name, config):
            errors.append(checks.Error(f"Connection provider {name!r}: {problem}.", id="connections.E001"))
    keys = app_settings.ENCRYPTION_KEYS
    for index, key in enumerate(keys if isinstance(keys, (list, tuple)) else [keys]):
        try:
            parse_key(key if isinstance(key, str) else "")
        except ValueError as error:
            errors.append(checks.Error(
                f"CONNECTIONS['ENCRYPTION_KEYS'][{index}] is not a key: {error}.",
                hint="32 random bytes in URL-safe base64: python -c \"import connections.crypto as c; "
                     "print(c.generate_key())\"", id="connections.E002"))
    if not keys and providers:
        if settings.DEBUG:
            errors.append(checks.Warning(
                "CONNECTIONS['ENCRYPTION_KEYS'] is empty: provider tokens are encrypted with a key derived from "
                "SECRET_KEY (development only).", id="connections.W001"))
        else:
            errors.append(checks.Error(
                "CONNECTIONS['ENCRYPTION_KEYS'] is empty: provider tokens cannot be stored.",
                hint="Set CONNECTIONS_ENCRYPTION_KEYS.", id="connections.E003"))
    return errors
