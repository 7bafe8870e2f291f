"""Login throttling: failures, not attempts, are counted per account, so that guessing is slowed down
without handing an attacker a way to keep the owner out.

Three counters, all in the shared cache (Redis in production):

1. Attempts per client IP: the `login` rate-limit scope (accounts.limits), counted before any of this.
2. Failures for one account from one client: its network (IPv4 /24, IPv6 /64, so that rotating through
   the addresses of one network does not help), or, when the request carries a device cookie that this
   account was given at an earlier successful login, that device. LOGIN_FAILURES_PER_CLIENT failures in
   a LOGIN_FAILURE_WINDOW refuse that client, for that account, until the window ends.
3. Consecutive failures for one account from anywhere. From LOGIN_LOCKOUT_THRESHOLD on, each failure
   locks the account for clients without its device cookie, for LOGIN_LOCKOUT_BASE doubling with every
   further failure up to LOGIN_LOCKOUT_MAX: progressive and capped. With the defaults, about 50 guesses
   a day reach the password check from new devices (NIST SP 800-63B asks for at most 100 consecutive
   failures; this rate-limits them rather than disabling the account, which would hand the attacker
   the lockout the rest of this module avoids).

The trade-off: an attacker who fails often enough from many networks can lock an account for new
devices, for at most LOGIN_LOCKOUT_MAX at a time. They cannot lock its owner out of a device that has
logged in to it before (the device cookie), and a password reset, which always works, clears the count,
as does any successful login. A correct password from a new device during a lock is refused like any
other attempt: answering differently would confirm the password to the attacker.

Nothing here reveals whether an account exists: the counters are keyed by the submitted address, known
or not, and an unknown address fails and locks exactly like a known one. Keys are HMACs of the address,
so neither the cache nor the audit log holds the addresses people typed.
"""
from dataclasses import dataclass, field
import math
import secrets
import time

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.utils.crypto import salted_hmac

from authcore.audit import record_security_event
from authcore.ratelimit import rate_limited, with_limit_cache
from authcore.requestmeta import ClientInfo, client_network

from . import events, limits
from .addresses import email_identity
from .conf import app_settings
from .models import DistrustedDevice, User

SCOPE = limits.LOGIN  # the rate-limit scope whose cache-outage rule (fail open or closed) login follows
DEVICE_TOKEN_SALT = "accounts.login_throttle.device"
# A signed device token is ~100 characters; anything much longer is not ours and is not even verified.
DEVICE_TOKEN_MAX_LENGTH = 256


def account_key(email: str) -> str:
    """The account an attempt is for, as the canonical address would be stored, keyed with SECRET_KEY."""
    identity = email_identity(email or "")
    # SHA-1, named: the keys of counts already in the cache stay the same whatever Django's default becomes.
    return salted_hmac("accounts.login_throttle.account", identity.encode("utf-8", "surrogatepass"),
                       algorithm="sha1").hexdigest()[:32]


def _network(ip_address: str | None) -> str:
    # /64 for IPv6: one customer's subnet, which rotating through its addresses does not leave.
    return str(client_network(ip_address, ipv4_prefix=24, ipv6_prefix=64) or "unknown")


def _password_generation(user: User) -> int:
    """Changes with every password change: a device token carries the one it was issued under, so that a
    device trusted before a reset (a thief's, say) is trusted no more after it."""
    return int(user.password_changed_at.timestamp() * 1_000_000) if user.password_changed_at else 0


def _device_for(account: str, device_token: str | None) -> tuple[str, int] | None:
    """The device id and password generation of a valid device token issued for this account, else None."""
    if not device_token or len(device_token) > DEVICE_TOKEN_MAX_LENGTH:
        return None
    try:
        payload = signing.loads(device_token, salt=DEVICE_TOKEN_SALT,
                                max_age=app_settings.DEVICE_COOKIE_AGE.total_seconds())
    except signing.BadSignature:  # includes an expired signature
        return None
    if not isinstance(payload, dict) or payload.get("account") != account:
        return None
    device, generation = payload.get("device"), payload.get("generation")
    return (device, generation) if isinstance(device, str) and isinstance(generation, int) else None


def _trusted_device_for(account: str, device_token: str | None) -> tuple[str, int] | None:
    """_device_for, unless its owner reported the device (a sign-in from it was "not me"): such a cookie is
    no cookie at all, so it spares neither an alert nor the lock, and a login with it gets a new device id.
    The lookup runs only for a genuine cookie of this account, so nobody can make a login pay for it."""
    device = _device_for(account, device_token)
    if device is not None and DistrustedDevice.objects.filter(device_id=device[0]).exists():
        return None
    return device


def new_device_id() -> str:
    return secrets.token_urlsafe(16)


def device_token_after_password_change(user: User, device_token: str | None, *, session_device_id: str = "") -> str:
    """A device cookie renewed for the new password, for the device that changed it (its own change must
    not cost it its exemption from the lock): the same device id when its old cookie was this account's,
    else the one its session records, so that the cookie and the session name one device."""
    device = _trusted_device_for(account_key(user.email), device_token)
    return device_token_for(user, device=device[0] if device else (session_device_id or None))


def device_token_for(user: User, *, device: str | None = None) -> str:
    """The token for the device cookie of a device that has just proven the password (a login) or control
    of the mailbox (a password reset)."""
    return signing.dumps({"account": account_key(user.email), "device": device or new_device_id(),
                          "generation": _password_generation(user)}, salt=DEVICE_TOKEN_SALT)


@dataclass(frozen=True)
class LoginAttempt:
    """Who is trying which account: the keys the counters use."""

    account: str
    client: str  # "device:<id>" for a device that logged in to this account before, else "net:<network>"
    client_info: ClientInfo = field(repr=False)
    email: str = field(repr=False)  # as submitted; names the account in a lockout event, finds its user
    device: tuple[str, int] | None = None  # (id, password generation) of a device cookie for this account
    # The id a successful login gives the device: the cookie's, or a new one for a device without one.
    device_id: str = field(default_factory=new_device_id, repr=False)

    @classmethod
    def start(cls, *, email: str, client: ClientInfo, device_token: str | None = None) -> "LoginAttempt":
        account = account_key(email)
        device = _trusted_device_for(account, device_token)
        if device is None:
            return cls(account=account, client=f"net:{_network(client.ip_address)}", client_info=client, email=email)
        return cls(account=account, client=f"device:{device[0]}", client_info=client, email=email, device=device,
                   device_id=device[0])

    @classmethod
    def in_session(cls, *, user: User, client: ClientInfo, session_id: str | None, device_id: str) -> "LoginAttempt":
        """A password typed again inside a session (accounts.reauthentication), counted on the account like
        a login, and per client by the session itself: a stolen session that guesses must not spend the
        failure budget of the owner's device, which would keep the owner from logging in on it again. The
        session lives, so it was opened under the current password (a change ends every session), and its
        device (when recorded) is not reported (a report ends its sessions too): the lock spares it."""
        client_key = f"session:{session_id}" if session_id else f"net:{_network(client.ip_address)}"
        device = (device_id, _password_generation(user)) if device_id else None
        return cls(account=account_key(user.email), client=client_key, client_info=client, email=user.email,
                   device=device, device_id=device_id or new_device_id())

    def device_token(self, user: User) -> str:
        """The token for the device cookie after a successful login: the same device id if it had one."""
        return device_token_for(user, device=self.device_id)

    def from_trusted_device(self) -> bool:
        """Whether the device cookie still vouches for this device: issued under the current password. Asked
        only while the account is locked, so the lookup it costs is not on the ordinary path."""
        if self.device is None:
            return False
        user = User.objects.with_email(self.email).only("password_changed_at").first()
        return user is not None and self.device_vouches_for(user)

    def device_vouches_for(self, user) -> bool:
        """from_trusted_device for a user already loaded (after a successful login): no lookup."""
        return self.device is not None and self.device[1] == _password_generation(user)


def _enabled() -> bool:
    # The same switch as every other limit (load tests turn them all off).
    return getattr(settings, "RATELIMIT_ENABLE", True)


def _window() -> tuple[int, float]:
    """The current fixed window's index and the seconds left in it."""
    length = app_settings.LOGIN_FAILURE_WINDOW.total_seconds()
    now = time.time()
    return int(now // length), length - now % length


def _client_failures_key(attempt: LoginAttempt, window: int) -> str:
    return f"login:client-failures:{attempt.account}:{attempt.client}:{window}"


def _account_failures_key(account: str) -> str:
    return f"login:account-failures:{account}"


def _account_lock_key(account: str) -> str:
    return f"login:account-lock:{account}"


def _reauthentication_failures_key(account: str) -> str:
    return f"login:reauth-failures:{account}"


def check(attempt: LoginAttempt) -> bool:
    """Refuse the attempt (429 with Retry-After) if its client or its account is locked. Runs before the
    password is checked, so a locked attempt costs no hash and tells nothing about the password.

    Returns whether any failure was on record for this client or account (the cache unreachable counts as
    yes), so that a success with nothing to forget costs no further round trip (record_success)."""
    if not _enabled():
        return False
    values = _standing(attempt)
    return True if values is None else bool(values)


def check_in_session(attempt: LoginAttempt) -> tuple[bool, int]:
    """check() for a password typed inside a session (accounts.reauthentication), in the same round trip:
    whether failures are on record, and the account's consecutive failures in sessions."""
    if not _enabled():
        return False, 0
    key = _reauthentication_failures_key(attempt.account)
    values = _standing(attempt, also=[key])
    return (True, 0) if values is None else (bool(values), values.get(key, 0))


def _standing(attempt: LoginAttempt, *, also: list[str] = ()) -> dict | None:
    """The counters of this attempt (and the keys `also` asks for), after refusing a locked client or account;
    None when the cache failed and this scope lets the attempt through."""
    window, seconds_left = _window()
    client_key, lock_key = _client_failures_key(attempt, window), _account_lock_key(attempt.account)
    failures_key = _account_failures_key(attempt.account)
    values = with_limit_cache(SCOPE, lambda: cache.get_many([client_key, lock_key, failures_key, *also]),
                              fallback=None)
    if values is None:  # the cache failed and this scope let the attempt through: forget blindly later
        return None
    if values.get(client_key, 0) >= app_settings.LOGIN_FAILURES_PER_CLIENT:
        raise rate_limited(scope=SCOPE, key="account_client", subject=f"{attempt.account}:{attempt.client}",
                           retry_after=math.ceil(seconds_left), client=attempt.client_info)
    locked_until = values.get(lock_key)
    # The lock's end is stored in the value, not only as the key's expiry, so it is exact on any backend.
    if locked_until and locked_until > time.time() and not attempt.from_trusted_device():
        # Recorded once per window and client: every network trying a locked account leaves a trace.
        raise rate_limited(scope=SCOPE, key="account", subject=f"{attempt.account}:{attempt.client}",
                           retry_after=math.ceil(locked_until - time.time()), client=attempt.client_info)
    return values


def _increment(key: str, timeout: float) -> int:
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # the key went in between (a success cleared it, or it expired): start again
        if cache.add(key, 1, timeout=timeout):
            return 1
        return cache.incr(key)  # another request started it first: count on top of it


def record_failure(attempt: LoginAttempt) -> None:
    """Count a failed login against the client and the account; lock the account if it is time to."""
    if not _enabled():
        return
    window, seconds_left = _window()
    memory = app_settings.LOGIN_FAILURE_MEMORY.total_seconds()

    def count() -> int:
        _increment(_client_failures_key(attempt, window), seconds_left + 1)
        key = _account_failures_key(attempt.account)
        failures = _increment(key, memory)
        cache.touch(key, memory)  # forgotten LOGIN_FAILURE_MEMORY after the *last* failure
        return failures

    failures = with_limit_cache(SCOPE, count, fallback=0)
    beyond = failures - app_settings.LOGIN_LOCKOUT_THRESHOLD
    if beyond < 0:
        return
    base, cap = app_settings.LOGIN_LOCKOUT_BASE.total_seconds(), app_settings.LOGIN_LOCKOUT_MAX.total_seconds()
    lock_seconds = min(base * 2 ** min(beyond, 32), cap)
    with_limit_cache(SCOPE, lambda: cache.set(_account_lock_key(attempt.account), time.time() + lock_seconds,
                                              timeout=lock_seconds + 1), fallback=None)
    # Operators want to know which account is under attack: name it if it exists (a lookup only here,
    # on the rare lock, never on the normal path).
    user = User.objects.with_email(attempt.email).first()
    record_security_event(events.LOGIN_LOCKED, user=user, client=attempt.client_info,
                          account=attempt.account, failures=failures, lock_seconds=int(lock_seconds))


def record_reauthentication_failure(attempt: LoginAttempt) -> int:
    """A wrong password typed inside a session (accounts.reauthentication): a failed login like any other,
    and one more on the account's count of consecutive failures in sessions, which is returned (0 with
    limits off). That count is forgotten REAUTH_FAILURE_MEMORY after the last failure, or at a success."""
    record_failure(attempt)
    if not _enabled():
        return 0
    memory = app_settings.REAUTH_FAILURE_MEMORY.total_seconds()

    def count() -> int:
        key = _reauthentication_failures_key(attempt.account)
        failures = _increment(key, memory)
        cache.touch(key, memory)  # consecutive failures: forgotten a day after the *last* one
        return failures

    return with_limit_cache(SCOPE, count, fallback=0)


def _forget(keys: list[str]) -> None:
    with_limit_cache(SCOPE, lambda: cache.delete_many(keys), fallback=None, best_effort=True)


def record_success(attempt: LoginAttempt, *, had_failures: bool = True) -> None:
    """The password was right: this client's and the account's failures are forgotten. `had_failures` is
    what check() saw; with none on record there is nothing to forget. A failure counted by a concurrent
    attempt in between then stays, which only keeps the count conservative."""
    if _enabled() and had_failures:
        window, _ = _window()
        _forget([_client_failures_key(attempt, window), _account_failures_key(attempt.account),
                 _account_lock_key(attempt.account), _reauthentication_failures_key(attempt.account)])


def clear_account(user: User, client: ClientInfo) -> None:
    """A password reset proved control of the mailbox: the account's failure count and lock go, and so do
    the failures counted against the network the reset came from (the owner's, as far as we can tell)."""
    if _enabled():
        attempt = LoginAttempt.start(email=user.email, client=client)
        window, _ = _window()
        _forget([_account_failures_key(attempt.account), _account_lock_key(attempt.account),
                 _client_failures_key(attempt, window), _reauthentication_failures_key(attempt.account)])
