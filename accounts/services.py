"""Account services. The REST API, the browser pages, the admin and management commands call these
functions; each rule about accounts is written here once.

Dependency direction: accounts -> sessions_app (sessions know nothing about account lifecycle).
"""
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from sessions_app.audit import record_security_event
from sessions_app.errors import ServiceError, validation_error
from sessions_app.models import SecurityEvent, Session
from sessions_app.requestmeta import ClientInfo
from sessions_app.services import IssuedTokens, end_user_sessions, reissue_tokens_for_session, start_session

from . import signals
from .conf import app_settings
from .models import User

Kind = SecurityEvent.Kind


def send_on_commit(signal, **kwargs) -> None:
    """Send an account signal once the surrounding transaction commits (never for rolled-back work)."""
    transaction.on_commit(lambda: signal.send(sender=User, **kwargs))


def check_password_policy(password: str, *, user: User | None = None, field: str = "password") -> None:
    """The password rules (settings.AUTH_PASSWORD_VALIDATORS), as a 400 with one entry per broken rule."""
    try:
        validate_password(password, user=user)
    except ValidationError as error:
        raise validation_error(field, error) from None


def log_in(*, email: str, password: str, client: ClientInfo, request=None) -> tuple[User, IssuedTokens]:
    """Check the credentials and open a new session.

    Unknown email, wrong password and inactive account all end in the same `invalid_credentials` error,
    and Django's ModelBackend hashes the password once even for an unknown email, so neither the answer
    nor its timing tells whether the account exists."""
    user = authenticate(request, email=email, password=password)
    if user is None:
        record_security_event(Kind.LOGIN_FAIL, client=client)
        raise ServiceError("invalid_credentials")
    # Only now, with the password proven, may we say that the address is unverified.
    if app_settings.REQUIRE_VERIFIED_EMAIL and not user.email_verified:
        record_security_event(Kind.LOGIN_UNVERIFIED, user=user, client=client)
        raise ServiceError("email_not_verified")
    with transaction.atomic():
        user.last_login = timezone.now()
        user.save(update_fields=["last_login"])
        tokens = start_session(user=user, client=client)
        record_security_event(Kind.LOGIN_SUCCESS, user=user, client=client, session_id=tokens.session.id)
    return user, tokens


def update_profile(*, user: User, name: str) -> User:
    user.name = name
    user.save(update_fields=["name"])
    return user


def set_new_password(*, user: User, new_password: str, field: str = "new_password") -> None:
    """Validate and store a new password. Callers end sessions and notify as their flow requires."""
    check_password_policy(new_password, user=user, field=field)
    user.set_password(new_password)
    user.password_changed_at = timezone.now()
    user.save(update_fields=["password", "password_changed_at"])


def change_password(
    *, user: User, session_id, current_password: str, new_password: str, client: ClientInfo
) -> IssuedTokens:
    """Change the password of a logged-in user. Every other session ends; the current one gets a new pair."""
    if not user.check_password(current_password):
        record_security_event(Kind.PASSWORD_CHANGE_FAIL, user=user, client=client, session_id=session_id)
        raise ServiceError("password_incorrect")
    with transaction.atomic():
        set_new_password(user=user, new_password=new_password)
        end_user_sessions(user=user, reason=Session.RevokeReason.PASSWORD_CHANGED, client=client,
                          keep_session_id=session_id)
        current = Session.objects.alive().get(pk=session_id, user=user)
        tokens = reissue_tokens_for_session(session=current)
        record_security_event(Kind.PASSWORD_CHANGED, user=user, client=client, session_id=session_id)
        send_on_commit(signals.password_changed, user=user, reason="changed")
    return tokens


def deactivate_user(*, user: User, actor: User | None = None, client: ClientInfo | None = None) -> int:
    """Deactivate an account and end all its sessions at once; returns how many sessions were ended."""
    with transaction.atomic():
        user.is_active = False
        user.save(update_fields=["is_active"])
        ended = end_user_sessions(user=user, reason=Session.RevokeReason.USER_DEACTIVATED, actor=actor, client=client)
        record_security_event(Kind.USER_DEACTIVATED, user=user, actor=actor, client=client, sessions_ended=ended)
    return ended
