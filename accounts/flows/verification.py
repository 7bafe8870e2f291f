"""Email verification: the link sent at registration (and again on request, or when the owner logs in
unverified), and marking an address verified (the link, or an operator in the admin). Verifying logs nobody
in and issues no tokens (NIST SP 800-63B §3.1.3.1: a verification link is not an authenticator)."""
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from authcore.audit import record_security_event
from authcore.errors import ServiceError
from authcore.ratelimit import enforce_rate_limit, with_limit_cache
from authcore.requestmeta import ClientInfo

from .. import emails, events, limits
from ..addresses import email_identity
from ..conf import app_settings
from ..models import User
from ..tokens import email_verification_tokens, link_rendering, link_token_account_key, user_for_link_token

emails.register_rendering("verify_email", **link_rendering(email_verification_tokens, "VERIFY_EMAIL_URL_TEMPLATE"))


def send_verification_email(user: User) -> None:
    emails.announce("verification_requested", user=user)


def resend_after_login(user: User) -> None:
    """The password was just proven, so this is the owner, who may have lost the first email: send a
    fresh one, but at most once per VERIFY_EMAIL_RESEND_INTERVAL however often they try to log in."""
    interval = app_settings.VERIFY_EMAIL_RESEND_INTERVAL.total_seconds()
    # With the cache unreachable: no resend, rather than one email for every attempt.
    first = with_limit_cache(limits.RESEND_VERIFICATION, lambda: cache.add(
        f"accounts:verification-resent:{user.pk}", True, timeout=interval), fallback=False, best_effort=True)
    if first:
        send_verification_email(user)


def resend_verification(*, email: str, client: ClientInfo) -> None:
    """Email a fresh verification link if the address belongs to an active, unverified account.

    Returns nothing either way, so callers answer the same for any address. The request does the same
    work either way too (one lookup, one queued task, which for no account sends nothing), and the email
    itself is rendered and sent by the task worker, so the timing does not tell either."""
    enforce_rate_limit(scope=limits.RESEND_VERIFICATION, client=client, account=email_identity(email))
    user = User.objects.with_email(email).filter(is_active=True).first()
    if user is not None and not user.email_verified:
        send_verification_email(user)
    else:
        emails.announce("verification_requested", user=None)


def set_email_verified(user: User) -> bool:
    # A conditional UPDATE: of two concurrent verifications exactly one wins, without a lock.
    now = timezone.now()
    updated = User.objects.filter(pk=user.pk, email_verified_at__isnull=True).update(email_verified_at=now)
    if updated:
        user.email_verified_at = now
    return bool(updated)


def mark_email_verified(*, user: User, actor: User | None = None, client: ClientInfo | None = None) -> bool:
    """Mark the address verified (from the emailed link, or by an admin) and send the welcome email.
    Returns False if it already was verified."""
    with transaction.atomic(durable=True):
        if not set_email_verified(user):
            return False
        record_security_event(events.EMAIL_VERIFIED, user=user, actor=actor, client=client)
        emails.announce("email_verified", user=user)
    return True


def verify_email(*, token: str, client: ClientInfo) -> User:
    """Verify an address with the emailed token. Logs nobody in and issues no tokens (NIST 800-63B
    §3.1.3.1: a verification link is not an authenticator)."""
    enforce_rate_limit(scope=limits.VERIFY_EMAIL, client=client, account=link_token_account_key(token))
    user = user_for_link_token(email_verification_tokens, token)
    # The token's HMAC covers email_verified_at, so a used token no longer matches; the conditional
    # update in mark_email_verified settles a race between two uses of the same token.
    if user is None or not user.is_active or not mark_email_verified(user=user, client=client):
        raise ServiceError("invalid_token")
    return user
