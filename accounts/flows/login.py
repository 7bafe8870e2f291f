"""Logging in: the password check every login shares (the API's, the pages' and the admin's), the second
step for a user with a second factor, and opening a session.

Unknown email, wrong password and inactive account end in the same `invalid_credentials`, in the same time;
failures are counted per account and client by accounts.login_throttle, which never locks the owner's
devices out; a new device is told to the user (flows.sign_in_alerts).

A user with a second factor (accounts.second_factor) gets no session for the password alone: the login stops
at 401 `mfa_required` with an `mfa_token`, which `complete_second_step` takes with one answer. The token is
random, kept hashed in the cache with what the password step learnt, for ACCOUNTS["MFA_LOGIN_TIMEOUT"]; it
works once, only from the client that asked for it (its network and user agent), and dies after
ACCOUNTS["MFA_LOGIN_ATTEMPTS"] wrong answers. Each wrong answer is a failed login of the account, so the same
progressive lock bounds guessing; and the password's success clears the account's failures only once the second
factor holds too, or an attacker who knows the password could clear them between guesses.
"""
import dataclasses
from dataclasses import dataclass
import functools
import hashlib
import math
import secrets
import time
from typing import NamedTuple

from django.contrib.auth import authenticate
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from authcore.audit import record_security_event
from authcore.backends import fetch_one_prepared
from authcore.errors import ServiceError
from authcore.ratelimit import enforce_rate_limit, with_limit_cache
from authcore.requestmeta import ClientInfo, client_network
from sessions_app.models import SECOND_FACTOR_METHOD, Session
from sessions_app.services import IssuedTokens, start_session

from .. import events, limits, login_throttle, second_factor
from ..conf import app_settings
from ..models import User
from ..second_factor import FactorAnswer
from . import sign_in_alerts, verification

PASSWORD_METHOD = "pwd"  # RFC 8176
# An mfa_token is 43 characters; a longer value is not ours and is refused before the cache is asked.
MFA_TOKEN_MAX_LENGTH = 64
_PENDING_PREFIX = "accounts:login:second-step:"


@dataclass(frozen=True)
class LoginResult:
    user: User
    tokens: IssuedTokens
    # For the device cookie: marks this device as one that has logged in to this account before, so
    # failures from elsewhere do not lock it out (accounts/login_throttle.py).
    device_token: str


class ProvenCredentials(NamedTuple):
    """What a password check that succeeded tells its caller."""

    user: User
    device_token: str  # for the device cookie (LoginResult.device_token)
    device_id: str  # the id that cookie carries, recorded on the session a login opens (Session.device_id)
    # The login presented a device cookie that still vouches for this device: not a new device.
    known_device: bool
    # The second factors the user must answer with before the login completes; [] for a user without one.
    second_factor_methods: list[str]


def check_credentials(*, email: str, password: str, client: ClientInfo, device_token: str | None = None,
                      request=None) -> ProvenCredentials:
    """The password check of every login (the API's and the admin's), or raises `invalid_credentials`, or
    `rate_limited` for a locked client or account.

    Unknown email, wrong password and inactive account all end in the same `invalid_credentials` error,
    and Django's ModelBackend hashes the password once even for an unknown email, so neither the answer
    nor its timing tells whether the account exists. Attempts are counted per client IP, failures per
    account and client, and a locked account or client is refused before any hashing
    (accounts/login_throttle.py)."""
    enforce_rate_limit(scope=limits.LOGIN, client=client)
    attempt = login_throttle.LoginAttempt.start(email=email, client=client, device_token=device_token)
    had_failures = login_throttle.check(attempt)
    user = authenticate(request, email=email, password=password)
    if user is None:
        login_throttle.record_failure(attempt)
        # Which account was attacked, for operators: its user if it exists, and always the keyed hash of the
        # address (the throttle's account key), so that attempts on an unknown address group too. Looked up
        # on every failure, known address or not, so the work (and time) is the same; the client learns
        # nothing from it.
        target = User.objects.with_email(email).only("pk").first()
        record_security_event(events.LOGIN_FAIL, user=target, client=client, account=attempt.account)
        raise ServiceError("invalid_credentials")
    methods = second_factor.methods_for(user)
    if not methods:  # else the second step clears the failures, once it holds
        login_throttle.record_success(attempt, had_failures=had_failures)
    return ProvenCredentials(user=user, device_token=attempt.device_token(user), device_id=attempt.device_id,
                             known_device=attempt.device_vouches_for(user), second_factor_methods=methods)


def log_in(*, email: str, password: str, client: ClientInfo, device_token: str | None = None,
           request=None, transport: str = Session.Transport.BODY, device_name: str = "") -> LoginResult:
    """Check the credentials and open a new session (its refresh token travelling as `transport` says,
    named `device_name` by the client); for a user with a second factor, 401 `mfa_required` instead, carrying
    the `mfa_token` and `methods` of the second step (complete_second_step)."""
    proven = check_credentials(email=email, password=password, client=client, device_token=device_token,
                               request=request)
    user = proven.user
    # Only now, with the password proven, may we say that the address is unverified.
    if app_settings.REQUIRE_VERIFIED_EMAIL and not user.email_verified:
        record_security_event(events.LOGIN_UNVERIFIED, user=user, client=client)
        verification.resend_after_login(user)
        raise ServiceError("email_not_verified")
    if proven.second_factor_methods:
        mfa_token = start_second_step(proven, email=email, presented_device_token=device_token, client=client,
                                       transport=transport, device_name=device_name)
        raise ServiceError("mfa_required", data={"mfa_token": mfa_token, "methods": proven.second_factor_methods})
    return _open_session(user=user, client=client, transport=transport, device_name=device_name,
                         device_id=proven.device_id, known_device=proven.known_device,
                         device_token=proven.device_token, auth_methods=(PASSWORD_METHOD,))


def _open_session(*, user: User, client: ClientInfo, transport: str, device_name: str, device_id: str,
                  known_device: bool, device_token: str, auth_methods: tuple[str, ...]) -> LoginResult:
    with transaction.atomic(durable=True):
        signed_in_at = timezone.now()
        previous_login, user.last_login = user.last_login, signed_in_at
        # Conditional: an account deleted or deactivated since the password check gets no session. A fixed
        # statement, prepared once per connection; last_login is none of the fields whose changes the user rules
        # watch (UserQuerySet.update), so it needs none of their work.
        if not _record_login(user, signed_in_at):
            raise ServiceError("invalid_credentials")
        # The session records the device its cookie names, so that a report of this sign-in can end every
        # session that device opened and distrust its cookie (flows.not_me). The UPDATE above locked the user's
        # row until the commit: the sign-ins of one user take turns at the cap on their sessions.
        # Its audit record is stored with it, in one statement.
        tokens = start_session(user=user, client=client, transport=transport, device_name=device_name,
                               device_id=device_id, auth_methods=auth_methods, user_locked=True,
                               audited_as=(events.LOGIN_SUCCESS,
                                           {"methods": list(auth_methods)} if len(auth_methods) > 1 else {}))
        # A device the user has not used before: they are told, by an email queued in this transaction.
        sign_in_alerts.alert_if_new_device(user=user, session=tokens.session, known_device=known_device,
                                           previous_login=previous_login)
    return LoginResult(user=user, tokens=tokens, device_token=device_token)


def _record_login(user: User, signed_in_at) -> bool:
    """Set the user's last_login if they are still active; whether they were."""
    if not connection.features.can_return_columns_from_insert:  # SQLite before 3.35: no RETURNING
        return bool(User._base_manager.filter(pk=user.pk, is_active=True).update(last_login=signed_in_at))
    return fetch_one_prepared(connection, _record_login_sql(connection.vendor), {
        "at": connection.ops.adapt_datetimefield_value(signed_in_at),
        "user": User._meta.pk.get_db_prep_value(user.pk, connection)}) is not None


@functools.cache
def _record_login_sql(vendor: str) -> str:  # per database vendor: its quoting
    """A login's last_login, set only on an active user: what `User.objects.filter(pk=..., is_active=True)
    .update(last_login=...)` sends, answering a row when it updated one."""
    quote, meta = connection.ops.quote_name, User._meta
    return (f"UPDATE {quote(meta.db_table)} SET {quote(meta.get_field('last_login').column)} = %(at)s"
            f" WHERE {quote(meta.pk.column)} = %(user)s AND {quote(meta.get_field('is_active').column)}"
            f" RETURNING {quote(meta.pk.column)}")


# --- the second step -------------------------------------------------------------------------------------------
def _pending_key(mfa_token: str) -> str:
    return _PENDING_PREFIX + hashlib.sha256(mfa_token.encode()).hexdigest()


def _client_binding(client: ClientInfo) -> str:
    """The client an mfa_token was given to: its network (IPv4 /24, IPv6 /64, so a phone moving between
    addresses of one network keeps it), user agent and DPoP key (none without a proof), keyed with SECRET_KEY.
    The key because the session the second step opens is bound to the key its proof shows: without it in the
    binding, whoever took the mfa_token (and the code) could finish the login with a key of their own."""
    network = client_network(client.ip_address, ipv4_prefix=24, ipv6_prefix=64)
    key = f"|{client.dpop_jkt}" if client.dpop_jkt else ""  # (without one, as before keys were bound)
    return salted_hmac("accounts.login.second_step", f"{network}|{client.user_agent}{key}",
                       algorithm="sha256").hexdigest()


def start_second_step(proven: ProvenCredentials, *, email: str, presented_device_token: str | None,
                       client: ClientInfo, transport: str, device_name: str) -> str:
    """Keep what the password step learnt for the second step; returns the mfa_token that names it (log_in's,
    and the admin login's, which hands the second step to the sign-in page)."""
    mfa_token = secrets.token_urlsafe(32)
    pending = {
        "user": proven.user.pk, "email": email, "presented_device_token": presented_device_token or "",
        "device_token": proven.device_token, "device_id": proven.device_id, "known_device": proven.known_device,
        "transport": transport, "device_name": device_name, "binding": _client_binding(client),
        "password_changed_at": _password_generation(proven.user), "failures": 0,
        "expires": time.time() + app_settings.MFA_LOGIN_TIMEOUT.total_seconds(),
    }
    _save_pending(_pending_key(mfa_token), pending)
    return mfa_token


def _save_pending(key: str, pending: dict, *, best_effort: bool = False) -> None:
    """Store (or update) a second step until its fixed expiry: an update never lengthens its life."""
    timeout = max(1, math.ceil(pending["expires"] - time.time()))
    with_limit_cache(limits.LOGIN, lambda: cache.set(key, pending, timeout), fallback=None, best_effort=best_effort)


def _password_generation(user: User) -> str:
    return user.password_changed_at.isoformat() if user.password_changed_at else ""


def _load_pending(mfa_token: str, client: ClientInfo) -> tuple[dict, User]:
    """The second step an mfa_token names, and its user; 401 `mfa_token_invalid` for an unknown, expired,
    spent token, one from another client, or one whose account changed its password or left since."""
    if not isinstance(mfa_token, str) or not 0 < len(mfa_token) <= MFA_TOKEN_MAX_LENGTH:
        raise ServiceError("mfa_token_invalid")
    pending = with_limit_cache(limits.LOGIN, lambda: cache.get(_pending_key(mfa_token)), fallback=None)
    if (not isinstance(pending, dict) or pending["expires"] < time.time()
            or not constant_time_compare(pending["binding"], _client_binding(client))):
        raise ServiceError("mfa_token_invalid")
    user = User.objects.filter(pk=pending["user"], is_active=True).first()
    if user is None or _password_generation(user) != pending["password_changed_at"]:
        raise ServiceError("mfa_token_invalid")
    return pending, user


def second_step_options(*, mfa_token: str, client: ClientInfo) -> dict:
    """Security-key request options for the user of a waiting second step (its challenge works once, for that
    user)."""
    enforce_rate_limit(scope=limits.LOGIN_SECOND_STEP, client=client)
    _, user = _load_pending(mfa_token, client)
    return second_factor.challenge_for(user)


def log_in_proven(*, user: User, client: ClientInfo, device_token: str | None = None,
                  transport: str = Session.Transport.BODY, device_name: str = "",
                  auth_methods: tuple[str, ...]) -> LoginResult:
    """Open a session for a user who proved who they are without a password (a passkey: the mfa app), as a
    password login does after its checks: the device cookie, the verified-address rule, the new-device alert.
    Clears the account's failed logins, as any successful login does."""
    if not user.is_active:
        raise ServiceError("invalid_credentials")
    attempt = login_throttle.LoginAttempt.start(email=user.email, client=client, device_token=device_token)
    if app_settings.REQUIRE_VERIFIED_EMAIL and not user.email_verified:
        record_security_event(events.LOGIN_UNVERIFIED, user=user, client=client)
        verification.resend_after_login(user)
        raise ServiceError("email_not_verified")
    login_throttle.record_success(attempt)
    return _open_session(user=user, client=client, transport=transport, device_name=device_name,
                         device_id=attempt.device_id, known_device=attempt.device_vouches_for(user),
                         device_token=attempt.device_token(user), auth_methods=auth_methods)


# The answers of a second step that count as failures: a wrong one, and a copy of a key (refused as such).
WRONG_ANSWERS = ("mfa_code_incorrect", "webauthn_cloned")


def complete_second_step(*, mfa_token: str, answer: FactorAnswer, client: ClientInfo) -> LoginResult:
    """Finish a login stopped at `mfa_required` with one second-factor answer: the session it opens records the
    password and the factor (`amr`). A wrong answer is 400 `mfa_code_incorrect` and a failed login of the
    account (its lock, 429, as for passwords)."""
    enforce_rate_limit(scope=limits.LOGIN_SECOND_STEP, client=client)
    pending, user = _load_pending(mfa_token, client)
    provider = second_factor.installed()
    if provider is None or answer.is_empty():
        raise ServiceError("mfa_code_incorrect")
    # Counted as a client without a device cookie, whatever it presented: the cookie spares a device the account's
    # lock because it once proved the password (or the mailbox), and that says nothing about the second factor.
    attempt = dataclasses.replace(login_throttle.LoginAttempt.start(email=pending["email"], client=client),
                                  device_id=pending["device_id"])
    had_failures = login_throttle.check(attempt)
    key = _pending_key(mfa_token)
    try:
        verified = provider.verify(user, answer, client=client)
    except ServiceError as error:
        if error.code in WRONG_ANSWERS:
            login_throttle.record_failure(attempt)
            record_security_event(events.LOGIN_SECOND_FACTOR_FAIL, user=user, client=client)
            # Counted on the step too (racing guesses may share a count; the account's lock counts them all).
            pending["failures"] += 1
            if pending["failures"] >= app_settings.MFA_LOGIN_ATTEMPTS:
                with_limit_cache(limits.LOGIN, lambda: cache.delete(key), fallback=None, best_effort=True)
            else:
                _save_pending(key, pending, best_effort=True)
        raise
    # Single use: of two requests racing with one token, only the one that removes it goes on.
    if not with_limit_cache(limits.LOGIN, lambda: cache.delete(key), fallback=False):
        raise ServiceError("mfa_token_invalid")
    login_throttle.record_success(attempt, had_failures=had_failures)
    return _open_session(user=user, client=client, transport=pending["transport"], device_name=pending["device_name"],
                         device_id=pending["device_id"], known_device=pending["known_device"],
                         device_token=pending["device_token"],
                         auth_methods=(PASSWORD_METHOD, *verified.methods, SECOND_FACTOR_METHOD))
