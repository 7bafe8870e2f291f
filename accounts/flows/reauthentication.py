"""Reauthentication: a signed-in user proves who they are again before a sensitive action (change the
password, change the address, delete the account). Every such action calls `reauthenticate`; none checks a
password itself.

Whoever holds a stolen session can guess here, so the guesses are bounded like logins, and more:
- one budget per account for every action (the `prove_password` scope: 5 a minute);
- each wrong password counts as a failed login on the account (accounts.login_throttle), so it adds to the
  same progressive, failure-based account lock, which never locks the owner's devices out: the failures
  per client are the session's own, and the session's device is spared the lock;
- a ceiling: the failure that brings the account's consecutive failures in sessions to REAUTH_MAX_FAILURES
  (10 by default; forgotten REAUTH_FAILURE_MEMORY, a day, after the last one, or at any successful login or
  reauthentication) ends the session that guessed and tells the owner by email; from then on every session
  that asks is ended before its password is even checked, so a right guess gets no further than a wrong
  one. A thief gets at most that many guesses in a row (NIST SP 800-63B allows 100 consecutive failures);
  the owner, who knows the password, never meets it, and logs in again to clear it.

Callers pass what the user gave as a `Proof`, and only this module knows how each kind is checked: the
password, or, for an account with a second factor (accounts.second_factor), an answer of that factor instead (a
code, a recovery code, a security key), counted against the same budget, lock and ceiling. A proof by a factor
is recorded as such on the session (Session.factor_proved_at): removing a factor asks for one, so a password
alone never takes a second factor off. A browser signed in on the account pages may
present no password at all (`Proof(password=None)`): its session's own recent sign-in or reauthentication
stands in, within SESSIONS_APP["RECENT_AUTHENTICATION_WINDOW"] (the pages ask for the password on the
reauthentication page once it is older); the API always asks for a proof (the password, or a factor).
"""
from dataclasses import dataclass
import uuid

from django.db import transaction

from authcore.audit import record_security_event
from authcore.errors import ServiceError
from authcore.ratelimit import enforce_rate_limit, rate_limited
from authcore.requestmeta import ClientInfo
from sessions_app.models import Session
from sessions_app.services import (
    end_session,
    record_reauthentication,
    require_reauthentication,
    require_recent_authentication,
)

from .. import emails, events, limits, login_throttle, second_factor
from ..conf import app_settings
from ..models import User
from ..second_factor import FactorAnswer


@dataclass(frozen=True)
class Proof:
    """What the user gave to prove it is them: the current password, or an answer of their second factor, or
    neither for the session's own recent authentication (the module docstring)."""

    password: str | None
    factor: FactorAnswer | None = None

    @property
    def is_empty(self) -> bool:
        return self.password is None and (self.factor is None or self.factor.is_empty())


def reauthenticate(*, user: User, session_id: uuid.UUID | str | None, proof: Proof, client: ClientInfo,
                   failure_event: str) -> None:
    """Check `proof` for `user`, signed in with the session `session_id` (None for a sign-in that is no
    session of ours, such as the admin's); returns nothing when it holds.

    Raises 400 `password_incorrect` for a wrong password (recorded as `failure_event`), 429 `rate_limited`
    past the budget or while the account is locked for this client, and 401 `session_ended` when the
    account's failures in sessions are at the ceiling (see the module docstring). At the ceiling nothing is
    checked any more, so not even a right guess gets through: the owner logs in again, which clears it.
    Without a password: 403 `reauthentication_required` unless the session proved itself recently. With a factor's
    answer instead of the password: 400 `mfa_code_incorrect` when it is wrong, the rest alike."""
    if proof.is_empty:
        require_recent_authentication(user=user, session_id=session_id)
        return
    if proof.factor is None and session_id is not None and not user.has_usable_password():
        # The API asks an account without a password (passkeys only) for none: a reauthentication by a factor in
        # this session stands in (POST reauthenticate/ with a passkey first), so that a stolen access token alone is
        # no more enough here than for an account that must give its password.
        require_reauthentication(user=user, session_id=session_id, with_factor=True)
        return
    if proof.password == "":
        raise ServiceError("password_incorrect")  # left out: no guess to count
    enforce_rate_limit(scope=limits.PROVE_PASSWORD, client=client, account=str(user.pk))
    session = (Session.objects.filter(pk=session_id, user=user).only("id", "user_id", "device", "device_id").first()
               if session_id else None)
    attempt = login_throttle.LoginAttempt.in_session(user=user, client=client, session_id=session_id,
                                                     device_id=session.device_id if session else "")
    had_failures, failures = login_throttle.check_in_session(attempt)
    if failures >= app_settings.REAUTH_MAX_FAILURES:
        _refuse_at_ceiling(user=user, session=session, client=client, failures=failures)
    with_factor = proof.password is None
    if _holds(user, proof, client=client):
        login_throttle.record_success(attempt, had_failures=had_failures)
        if session is not None:
            # The pages' sensitive actions need not ask again for a while (and, with a factor, removing one).
            record_reauthentication(session.id, with_factor=with_factor)
        return
    failures = login_throttle.record_reauthentication_failure(attempt)
    record_security_event(failure_event, user=user, client=client, session_id=session_id,
                          **({"method": "second_factor"} if with_factor else {}))
    if failures >= app_settings.REAUTH_MAX_FAILURES:
        _refuse_at_ceiling(user=user, session=session, client=client, failures=failures)
    raise ServiceError("mfa_code_incorrect" if with_factor else "password_incorrect")


def reauthentication_options(*, user: User, client: ClientInfo) -> dict:
    """Security-key request options for `user` to prove who they are with (the challenge works once, for them);
    bounded per client like the login's second step, since each one is kept for a while."""
    enforce_rate_limit(scope=limits.LOGIN_SECOND_STEP, client=client)
    return second_factor.challenge_for(user)


def _holds(user: User, proof: Proof, *, client: ClientInfo) -> bool:
    if proof.password is not None:
        return user.check_password(proof.password)
    provider = second_factor.installed()
    if provider is None or not provider.methods(user):
        return False
    try:
        provider.verify(user, proof.factor, client=client)
    except ServiceError as error:
        if error.code != "mfa_code_incorrect":
            raise  # a copy of a key (`webauthn_cloned`) is refused as such, and was audited as one
        return False
    return True


def _refuse_at_ceiling(*, user: User, session: Session | None, client: ClientInfo, failures: int) -> None:
    """End the session that guessed, tell the owner, and refuse. A caller without a session of ours is
    refused as over a limit until the count is forgotten."""
    if session is None:
        raise rate_limited(scope=limits.PROVE_PASSWORD, key="account", subject=str(user.pk),
                           retry_after=int(app_settings.REAUTH_FAILURE_MEMORY.total_seconds()), client=client)
    with transaction.atomic():
        session.user = user
        if end_session(session=session, reason=events.REAUTH_FAILED_REASON, client=client):
            record_security_event(events.REAUTH_LOCKED, user=user, client=client, session_id=session.id,
                                  failures=failures)
            # The owner hears of it: someone who has one of their sessions does not know the password.
            emails.announce("session_ended_password_guesses", user=user, device=session.device, failures=failures)
    raise ServiceError("session_ended")

