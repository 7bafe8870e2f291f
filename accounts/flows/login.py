"""Logging in: the password check every login shares (the API's and the admin's) and opening a session.

Unknown email, wrong password and inactive account end in the same `invalid_credentials`, in the same time;
failures are counted per account and client by accounts.login_throttle, which never locks the owner's
devices out; a new device is told to the user (flows.sign_in_alerts).
"""
from dataclasses import dataclass
from typing import NamedTuple

from django.contrib.auth import authenticate
from django.db import transaction
from django.utils import timezone

from authcore.audit import record_security_event
from authcore.errors import ServiceError
from authcore.ratelimit import enforce_rate_limit
from authcore.requestmeta import ClientInfo
from sessions_app.models import Session
from sessions_app.services import IssuedTokens, start_session

from .. import events, limits, login_throttle
from ..conf import app_settings
from ..models import User
from . import sign_in_alerts, verification


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
    login_throttle.record_success(attempt, had_failures=had_failures)
    return ProvenCredentials(user=user, device_token=attempt.device_token(user), device_id=attempt.device_id,
                             known_device=attempt.device_vouches_for(user))


def log_in(*, email: str, password: str, client: ClientInfo, device_token: str | None = None,
           request=None, transport: str = Session.Transport.BODY, device_name: str = "") -> LoginResult:
    """Check the credentials and open a new session (its refresh token travelling as `transport` says,
    named `device_name` by the client)."""
    proven = check_credentials(email=email, password=password, client=client, device_token=device_token,
                               request=request)
    user = proven.user
    # Only now, with the password proven, may we say that the address is unverified.
    if app_settings.REQUIRE_VERIFIED_EMAIL and not user.email_verified:
        record_security_event(events.LOGIN_UNVERIFIED, user=user, client=client)
        verification.resend_after_login(user)
        raise ServiceError("email_not_verified")
    with transaction.atomic(durable=True):
        previous_login, user.last_login = user.last_login, timezone.now()
        # Conditional: an account deleted or deactivated since the password check gets no session.
        if not User.objects.filter(pk=user.pk, is_active=True).update(last_login=user.last_login):
            raise ServiceError("invalid_credentials")
        # The session records the device its cookie names, so that a report of this sign-in can end every
        # session that device opened and distrust its cookie (flows.not_me).
        tokens = start_session(user=user, client=client, transport=transport, device_name=device_name,
                               device_id=proven.device_id)
        record_security_event(events.LOGIN_SUCCESS, user=user, client=client, session_id=tokens.session.id)
        # A device the user has not used before: they are told, by an email queued in this transaction.
        sign_in_alerts.alert_if_new_device(user=user, session=tokens.session, known_device=proven.known_device,
                                           previous_login=previous_login)
    return LoginResult(user=user, tokens=tokens, device_token=proven.device_token)
