"""Connected accounts: the API, the callback page, the admin, the management command and application code
all go through these functions.

Connecting is the authorization code flow with PKCE (S256). `start_connection` keeps a pending row with the
hash of a random `state` (single use, bound to the user, valid STATE_LIFETIME) and the encrypted verifier;
`complete_connection` claims that row (only its own user, or browser, can; deleting it, so a state works
once), exchanges the code, and stores the tokens. Nothing is stored when anything fails.

`get_valid_access_token` is what application code calls. It refreshes an access token that expires within
REFRESH_MARGIN, under the connection's row lock: providers rotate refresh tokens and treat a reused one as
theft, so however many workers ask at once, exactly one refresh reaches the provider and the others wait
for its result. The provider calls have bounded timeouts and tries (connections.providers), which bound the
lock too.

Transactions: each flow here only ever runs on its own (connect, complete, refresh, disconnect, a
re-encryption batch) and opens a durable transaction, so its writes and audit record commit together and
never inside somebody else's transaction: a caller's rollback would take a rotated refresh token with it
(the provider has already spent the old one), or undo what a failed refresh recorded along with its error.
What runs inside another app's transaction (a user's deletion) joins it and calls the providers on commit.

No provider call is made inside a transaction that other requests wait on, except that refresh: a
disconnect revokes at the provider once its transaction has committed. Secrets never leave this module in a
log line, an event or an error message.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta
import hashlib
import logging
import secrets

from authlib.integrations.requests_client import OAuthError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from authcore.audit import record_security_event
from authcore.errors import ServiceError
from authcore.models import SecurityEvent
from authcore.ratelimit import enforce_rate_limit
from authcore.requestmeta import ClientInfo
from sessions_app.services import require_recent_authentication

from . import crypto, events, limits
from .conf import app_settings
from .errors import NeedsReconnect, NotConnected, ProviderUnavailable
from .models import TOKEN_FIELDS, Connection, PendingConnection
from .providers import RESERVED_AUTHORIZE_PARAMS, get_provider, with_retries

logger = logging.getLogger(__name__)
Status = Connection.Status


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# --- connecting -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StartedConnection:
    authorization_url: str
    expires_at: datetime
    # For the browser flow: the value of the HttpOnly cookie the callback page will ask for.
    browser_binding: str


def start_connection(*, user, provider_name: str, client: ClientInfo) -> StartedConnection:
    """Begin connecting `user` to a provider: returns the URL to send the user to."""
    enforce_rate_limit(scope=limits.CONNECT, client=client, account=str(user.pk))
    provider = get_provider(provider_name)
    authorization_url = provider.endpoint("authorization_url")
    state, verifier, binding = secrets.token_urlsafe(32), secrets.token_urlsafe(64), secrets.token_urlsafe(32)
    now = timezone.now()
    pending = PendingConnection(state_hash=_digest(state), user=user, provider=provider.name,
                                redirect_uri=provider.callback_url(), browser_binding_hash=_digest(binding),
                                created_at=now, expires_at=now + app_settings.STATE_LIFETIME)
    pending.code_verifier_ciphertext = crypto.encrypt(verifier, bound_to=pending.bound_to())
    with transaction.atomic(durable=True):
        # Housekeeping, a bounded amount each time: expired attempts (anyone's) go as new ones come.
        expired = PendingConnection.objects.filter(expires_at__lte=now).order_by("expires_at")
        PendingConnection.objects.filter(pk__in=list(expired.values_list("pk", flat=True)[:100])).delete()
        pending.save()
    extra = {name: value for name, value in provider.authorize_params.items()
             if name not in RESERVED_AUTHORIZE_PARAMS}
    url, _ = provider.client().create_authorization_url(authorization_url, state=state, code_verifier=verifier,
                                                        **extra)
    return StartedConnection(authorization_url=url, expires_at=pending.expires_at, browser_binding=binding)


@sensitive_variables("code", "verifier", "token")
def complete_connection(*, provider_name: str, state: str, code: str = "", error: str = "", client: ClientInfo,
                        user=None, browser_binding: str | None = None) -> Connection:
    """Finish a connection from the provider's redirect (`code` and `state`, or `error` and `state`).

    The attempt must be completed by whoever started it: an API caller passes `user` (the state must be
    theirs), the callback page passes the browser's binding cookie. Only they spend the state (anyone else
    leaves it to them), and before the exchange, so it never works twice, even when the exchange fails."""
    enforce_rate_limit(scope=limits.COMPLETE_CONNECTION, client=client)
    provider = get_provider(provider_name)
    pending = _claim_pending(state, provider_name=provider.name, user=user, browser_binding=browser_binding)
    if pending is None:
        raise ServiceError("invalid_state")
    if error:
        # access_denied, or any other error the provider redirected with: nothing to store.
        raise ServiceError("connection_denied")
    if not code:
        raise ServiceError("connection_failed")
    verifier = crypto.decrypt(pending.code_verifier_ciphertext, bound_to=pending.bound_to())
    token_url = provider.endpoint("token_url")
    try:
        token = with_retries(provider.name, lambda: provider.client().fetch_token(
            token_url, grant_type="authorization_code", code=code, code_verifier=verifier,
            redirect_uri=pending.redirect_uri, allow_redirects=False), idempotent=False)
    except OAuthError:
        # invalid_grant (a used or wrong code), invalid_client...: the provider's answer; never retried.
        raise ServiceError("connection_failed") from None
    if not token.get("access_token"):
        raise ServiceError("connection_failed")
    return store_initial_tokens(user=pending.user, provider_name=provider.name, token=token, client=client)


def _claim_pending(state: str, *, provider_name: str, user, browser_binding: str | None) -> PendingConnection | None:
    """Take the attempt out of the table if it is the caller's (see complete_connection) and unexpired, in
    one statement that of two concurrent uses only one wins. Checked on the locked row before deleting:
    someone else presenting the state must not spend the attempt of the user who started it."""
    if not isinstance(state, str) or not state or len(state) > 200:
        return None
    with transaction.atomic(durable=True):
        pending = (PendingConnection.objects.select_for_update().select_related("user")
                   .filter(state_hash=_digest(state)).first())
        if pending is None or pending.expires_at <= timezone.now() or pending.provider != provider_name:
            return None
        if user is not None and pending.user_id != user.pk:
            return None
        if user is None and not (browser_binding and secrets.compare_digest(
                _digest(browser_binding), pending.browser_binding_hash)):
            return None
        deleted, _ = PendingConnection.objects.filter(pk=pending.pk).delete()
    return pending if deleted else None


# Longer than any access token lives; a provider's larger value is taken as this (and cannot overflow).
LONGEST_EXPIRY = timedelta(days=3650)


def _expiry(token: dict) -> datetime | None:
    now = timezone.now()
    expires_in = token.get("expires_in")
    if isinstance(expires_in, (int, float)) and expires_in > 0:
        return now + min(timedelta(seconds=min(expires_in, LONGEST_EXPIRY.total_seconds())), LONGEST_EXPIRY)
    expires_at = token.get("expires_at")
    if isinstance(expires_at, (int, float)) and expires_at > 0:
        try:
            return min(datetime.fromtimestamp(expires_at, tz=timezone.get_current_timezone()), now + LONGEST_EXPIRY)
        except (OverflowError, ValueError, OSError):
            return now + LONGEST_EXPIRY
    return None


@sensitive_variables("token")
def store_initial_tokens(*, user, provider_name: str, token: dict, client: ClientInfo | None = None) -> Connection:
    """Store what a completed connect returned: access token, optional refresh and id token, expiry and
    granted scopes. Connecting a provider again replaces the tokens of the existing connection."""
    try:
        return _store_initial_tokens(user=user, provider_name=provider_name, token=token, client=client)
    except IntegrityError:
        # Two first connects of the same provider at once: the other one created the row; replace its tokens.
        return _store_initial_tokens(user=user, provider_name=provider_name, token=token, client=client)


@sensitive_variables("token")
def _store_initial_tokens(*, user, provider_name: str, token: dict, client: ClientInfo | None) -> Connection:
    provider = get_provider(provider_name)
    now = timezone.now()
    with transaction.atomic(durable=True):
        connection = Connection.objects.select_for_update().filter(user=user, provider=provider.name).first()
        if connection is None:
            connection = Connection(user=user, provider=provider.name, created_at=now)
        connection.store_tokens(access_token=token.get("access_token"), refresh_token=token.get("refresh_token"),
                                id_token=token.get("id_token"))
        connection.status, connection.connected_at, connection.revoked_at = Status.ACTIVE, now, None
        connection.expires_at, connection.refreshed_at, connection.last_error = _expiry(token), None, ""
        connection.refresh_failed_at = None
        granted = token.get("scope")
        connection.scopes = (granted if isinstance(granted, str) else " ".join(provider.scopes))[:1000]
        connection.save()
        record_security_event(events.CONNECTED, user=user, client=client, provider=provider.name,
                              scopes=connection.scopes)
    return connection


# --- reading ---------------------------------------------------------------------------------------------------
def list_connections(*, user) -> list[Connection]:
    return list(Connection.objects.filter(user=user).defer(*(f"{name}_ciphertext" for name in TOKEN_FIELDS)))


def token_info(*, user, provider_name: str) -> Connection:
    """The connection's metadata (provider, scopes, expiry, dates, status); decrypts nothing."""
    get_provider(provider_name)
    connection = (Connection.objects.filter(user=user, provider=provider_name)
                  .defer(*(f"{name}_ciphertext" for name in TOKEN_FIELDS)).first())
    if connection is None:
        raise NotConnected()
    return connection


# --- using ---------------------------------------------------------------------------------------------------
def _expiring(connection: Connection, now: datetime) -> bool:
    return connection.expires_at is not None and connection.expires_at - now <= app_settings.REFRESH_MARGIN


def _usable(connection: Connection | None, provider_name: str) -> Connection:
    if connection is None or connection.status == Status.REVOKED:
        raise NotConnected()
    if connection.status == Status.NEEDS_RECONNECT:
        raise NeedsReconnect(provider_name)
    return connection


def get_valid_access_token(user, provider: str) -> str:
    """An access token for `user` at `provider` that is valid for at least REFRESH_MARGIN, refreshed first
    if needed. Raises NotConnected, NeedsReconnect (the provider refused the grant) or ProviderUnavailable
    (network failures, timeouts or server errors: nothing stored changes).

    Call it outside any transaction, or it raises RuntimeError, every time (not only when a refresh is due,
    which would make the mistake show up at random): a refresh commits on its own, since a caller's rollback
    would forget a refresh token the provider has already rotated, and the next refresh would then present
    a spent one, which providers answer by revoking the grant."""
    if transaction.get_connection().in_atomic_block:
        raise RuntimeError("get_valid_access_token commits a refresh on its own: call it outside a transaction.")
    configured = get_provider(provider)
    connection = _usable(Connection.objects.filter(user=user, provider=provider).first(), provider)
    if not _expiring(connection, timezone.now()):
        return connection.read_token("access_token")
    # Before the lock: a discovery fetch (with its own timeouts) must not hold the row. Only when there is
    # something to refresh with: without a refresh token, the answer needs no provider at all.
    token_url = configured.endpoint("token_url") if connection.refresh_token_ciphertext else ""
    with transaction.atomic(durable=True):
        # Whoever gets the lock first refreshes; the others wait here and then find a fresh token.
        connection = _usable(Connection.objects.select_for_update().filter(pk=connection.pk).first(), provider)
        if not _expiring(connection, timezone.now()):
            return connection.read_token("access_token")
        if _failed_recently(connection):
            # A refresh just failed for a network reason: callers that queued behind it fail at once
            # instead of each holding the lock for another round of timeouts.
            raise ProviderUnavailable(provider)
        try:
            return _refresh(connection, token_url)
        except (NeedsReconnect, ProviderUnavailable) as error:
            # Leave the block normally, so what _refresh recorded (the status, the audit event) commits.
            failure = error
    raise failure


def _failed_recently(connection: Connection) -> bool:
    return (connection.refresh_failed_at is not None
            and timezone.now() - connection.refresh_failed_at < app_settings.REFRESH_RETRY_AFTER)


@sensitive_variables("refresh_token", "token")
def _refresh(connection: Connection, token_url: str) -> str:
    """Refresh under the row lock held by the caller. A rotated refresh token replaces the stored one; if the
    provider returns none, the old one is kept."""
    provider = get_provider(connection.provider)
    refresh_token = connection.read_token("refresh_token")
    if not refresh_token:
        # Nothing to refresh with: the access token stands until it expires, then the user reconnects.
        if connection.expires_at is not None and connection.expires_at > timezone.now():
            return connection.read_token("access_token")
        _mark_needs_reconnect(connection, "expired, and the provider gave no refresh token")
        raise NeedsReconnect(provider.name)
    # Resolved before the lock by the caller; here only if a refresh token appeared since (a reconnect).
    token_url = token_url or provider.endpoint("token_url")
    try:
        token = with_retries(provider.name, lambda: provider.client(with_scope=False).refresh_token(
            token_url, refresh_token=refresh_token, allow_redirects=False), idempotent=False)
    except OAuthError as error:
        if error.error == "invalid_grant":
            _mark_needs_reconnect(connection, "invalid_grant")
            raise NeedsReconnect(provider.name) from None
        _refresh_failed(connection, error.error or "oauth_error")
        raise ProviderUnavailable(provider.name) from None
    except ProviderUnavailable:
        _refresh_failed(connection, "provider unreachable")
        raise
    if not token.get("access_token"):
        _refresh_failed(connection, "no access token in the answer")
        raise ProviderUnavailable(provider.name)
    connection.store_tokens(access_token=token["access_token"],
                            refresh_token=token.get("refresh_token") or refresh_token,
                            id_token=token.get("id_token") or connection.read_token("id_token"))
    connection.expires_at, connection.refreshed_at, connection.last_error = _expiry(token), timezone.now(), ""
    connection.refresh_failed_at = None
    if isinstance(token.get("scope"), str):
        connection.scopes = token["scope"][:1000]
    connection.save()
    record_security_event(events.REFRESHED, user=connection.user, provider=provider.name,
                          rotated=token.get("refresh_token") not in (None, refresh_token))
    return token["access_token"]


def _mark_needs_reconnect(connection: Connection, reason: str) -> None:
    Connection.objects.filter(pk=connection.pk).update(status=Status.NEEDS_RECONNECT, last_error=reason[:200])
    record_security_event(events.REFRESH_FAILED, user=connection.user, provider=connection.provider,
                          reason=reason, needs_reconnect=True)


def _refresh_failed(connection: Connection, reason: str) -> None:
    Connection.objects.filter(pk=connection.pk).update(last_error=reason[:200], refresh_failed_at=timezone.now())
    record_security_event(events.REFRESH_FAILED, user=connection.user, provider=connection.provider,
                          reason=reason, needs_reconnect=False)


# --- disconnecting ------------------------------------------------------------------------------------------------
@sensitive_variables("tokens")
def disconnect(*, user, provider_name: str, actor=None, client: ClientInfo | None = None,
               recently_proven_session=None) -> Connection:
    """Delete the tokens here and mark the connection revoked, then revoke the tokens at the provider (RFC
    7009). The local deletion commits first and whatever the provider does (also for a provider no longer
    configured: its tokens can always be deleted); its audit record says whether the provider confirmed.
    `recently_proven_session`: the browser session of the account pages asking, which must have proven who
    its user is recently (sessions_app.services.require_recent_authentication; 403 otherwise)."""
    if recently_proven_session is not None:
        require_recent_authentication(user=user, session_id=recently_proven_session)
    with transaction.atomic(durable=True):
        connection = Connection.objects.select_for_update().filter(user=user, provider=provider_name).first()
        if connection is None or connection.status == Status.REVOKED:
            raise NotConnected()
        tokens = _readable_tokens(connection)
        connection.forget_tokens()
        connection.status, connection.revoked_at, connection.expires_at = Status.REVOKED, timezone.now(), None
        connection.save()
        # Unconfirmed until the provider confirms: if that never happens, the record says so.
        event = record_security_event(events.DISCONNECTED, user=user, actor=actor, client=client,
                                      provider=provider_name, revoked_at_provider=False)
        # On commit, so no provider call holds the row lock; robust: a failure there is logged, never the
        # caller's error after the deletion committed.
        transaction.on_commit(lambda: _revoke_disconnected(event, connection.provider, tokens), robust=True)
    return connection


@sensitive_variables("tokens")
def _revoke_disconnected(event: SecurityEvent, provider_name: str, tokens: dict[str, str]) -> None:
    revoked = revoke_at_provider(provider_name, tokens)
    if revoked:
        SecurityEvent.objects.filter(pk=event.pk).update(details={**event.details, "revoked_at_provider": True})
    logger.info("A disconnected %s connection: revoked at the provider: %s", provider_name, revoked)


def _readable_tokens(connection: Connection) -> dict[str, str]:
    tokens = {}
    for field in ("refresh_token", "access_token"):
        try:
            value = connection.read_token(field)
        except crypto.DecryptionFailed:
            value = None  # unreadable (its key was removed): nothing to revoke with, it is deleted anyway
        if value:
            tokens[field] = value
    return tokens


@sensitive_variables("tokens", "value")
def revoke_at_provider(provider_name: str, tokens: dict[str, str]) -> bool:
    """RFC 7009 revocation of each token (the refresh token first: revoking it usually ends the grant).
    Returns whether the provider confirmed every one; never raises for the provider's sake."""
    try:
        provider = get_provider(provider_name)
        url = provider.endpoint("revocation_url")
    except ServiceError:  # no longer configured, or its discovery document unreachable
        return False
    if not url or not tokens:
        return False
    confirmed = True
    for hint, value in tokens.items():
        try:
            response = with_retries(provider.name, lambda value=value, hint=hint: provider.client().revoke_token(
                url, token=value, token_type_hint=hint, allow_redirects=False), idempotent=True)
            confirmed = confirmed and response.status_code == 200
        except (OAuthError, ProviderUnavailable):
            confirmed = False
    return confirmed


@sensitive_variables("pending")
def disconnect_all_for_deleted_user(user) -> None:
    """A user row is about to be deleted (its connections go with it): read their tokens now, and revoke
    them at the providers once the deletion has committed, so no provider call holds the deletion's locks
    (and a deletion that rolls back revokes nothing). Best effort, bounded by the usual timeouts."""
    pending = [(connection.provider, _readable_tokens(connection))
               for connection in Connection.objects.filter(user=user).exclude(status=Status.REVOKED)]

    def revoke_all() -> None:
        for provider_name, tokens in pending:
            revoked = revoke_at_provider(provider_name, tokens)
            logger.info("A deleted user's %s connection: revoked at the provider: %s", provider_name, revoked)

    if pending:
        # robust: a failure here (after the deletion committed) is logged, never the caller's 500, and never
        # keeps the callbacks queued after it from running.
        transaction.on_commit(revoke_all, robust=True)


# --- key rotation ----------------------------------------------------------------------------------------------
def reencrypt_tokens(*, batch_size: int | None = None) -> int:
    """Re-encrypt every stored token under the newest key, in batches of short transactions (each row locked
    while it is rewritten, skipping rows another process holds, which the next pass takes). Idempotent:
    rows already under the newest key are not touched. Returns how many rows were rewritten."""
    batch_size = batch_size or app_settings.REENCRYPT_BATCH_SIZE
    newest = crypto.current_key_id()
    rewritten = _reencrypt_pending(newest)
    while True:
        with transaction.atomic(durable=True):
            batch = list(Connection.objects.select_for_update(skip_locked=True)
                         .exclude(key_id=newest).exclude(key_id__isnull=True).order_by("pk")[:batch_size])
            for connection in batch:
                connection.store_tokens(**{field: connection.read_token(field) for field in TOKEN_FIELDS})
                connection.save(update_fields=[*(f"{field}_ciphertext" for field in TOKEN_FIELDS), "key_id"])
        if not batch:
            break
        rewritten += len(batch)
    if rewritten:
        record_security_event(events.REENCRYPTED, rows=rewritten)
    return rewritten


def _reencrypt_pending(newest: bytes) -> int:
    """The PKCE verifiers of attempts in progress (few: they live STATE_LIFETIME); expired ones just go."""
    PendingConnection.objects.filter(expires_at__lte=timezone.now()).delete()
    rewritten = 0
    with transaction.atomic(durable=True):
        for pending in PendingConnection.objects.select_for_update(skip_locked=True):
            if crypto.key_id_of(pending.code_verifier_ciphertext) != newest:
                verifier = crypto.decrypt(pending.code_verifier_ciphertext, bound_to=pending.bound_to())
                pending.code_verifier_ciphertext = crypto.encrypt(verifier, bound_to=pending.bound_to())
                pending.save(update_fields=["code_verifier_ciphertext"])
                rewritten += 1
    return rewritten


def rows_not_under_newest_key() -> int:
    newest = crypto.current_key_id()
    pending = sum(crypto.key_id_of(value) != newest
                  for value in PendingConnection.objects.values_list("code_verifier_ciphertext", flat=True))
    return Connection.objects.exclude(key_id=newest).exclude(key_id__isnull=True).count() + pending
