"""The sessions app's settings (SESSIONS_APP), with defaults in code, read on every access."""
from datetime import timedelta

from authcore.conf import AppSettings

app_settings = AppSettings(
    "SESSIONS_APP",
    {
        # A session (refresh-token family) dies this long after login, however often it is refreshed.
        "ABSOLUTE_LIFETIME": timedelta(days=30),
        # A session also dies this long after its last refresh, if that comes first.
        "IDLE_TIMEOUT": timedelta(days=7),
        # How long after a rotation the immediate parent may be presented again without ending the
        # family (a client whose response was lost in flight). 0 = strict: any replay ends the session.
        "REFRESH_REUSE_GRACE": timedelta(0),
        # The refresh-token cookie of cookie-mode sessions (sessions_app/api/transport.py). Secure may be
        # turned off only with DEBUG, for local http (a system check refuses it otherwise); SameSite is
        # "Strict" or "Lax".
        "REFRESH_COOKIE_SECURE": True,
        "REFRESH_COOKIE_SAMESITE": "Strict",
        # Browser sign-ins (sessions_app/browser.py): a sensitive page (change the password or the address,
        # delete the account, disconnect a provider) asks for the password again once the sign-in or the last
        # reauthentication is older than this.
        "RECENT_AUTHENTICATION_WINDOW": timedelta(minutes=5),
        # Where a page sends a browser that is not signed in, and one that must prove who it is again (URL
        # names or paths; the account pages' own by default).
        "SIGN_IN_URL": "accounts:login",
        "REAUTHENTICATE_URL": "accounts:reauthenticate",
        # Access tokens (sessions_app/signing.py): "ES256" or "EdDSA", signed with SIGNING_KEYS (private JWKs, newest
        # first: the first signs, all verify; published at /.well-known/jwks.json), or "HS256" with the shared secret
        # SIMPLE_JWT["SIGNING_KEY"]. Without keys, a development key derived from SECRET_KEY (refused with DEBUG off).
        "SIGNING_ALGORITHM": "ES256",
        "SIGNING_KEYS": [],
        # How long clients and resource servers may cache the JWKS: publish a new key at least this long before it
        # signs (docs/how-to/rotate-signing-keys.md).
        "JWKS_MAX_AGE": timedelta(minutes=5),
        # Sender-constrained tokens (sessions_app/dpop.py): "optional" (a login or refresh with a DPoP proof binds the
        # session to the client's key; without one, bearer tokens) or "required" (no token without a proof).
        "DPOP": "optional",
        # How far a DPoP proof's `iat` may be from now; its `jti` is remembered for twice as long.
        "DPOP_PROOF_LIFETIME": timedelta(seconds=60),
        # The public origin clients send their requests to (scheme, host, port), which DPoP proofs name in `htu`;
        # None: the origin each request shows (its Host header and scheme, as the proxies in front set them).
        "DPOP_ORIGIN": None,
        # Ask for server nonces in DPoP proofs (RFC 9449 §8): a proof without a current one is answered
        # `use_dpop_nonce` with a DPoP-Nonce header.
        "DPOP_NONCE": False,
        # The resource servers that may ask POST introspect/ about a token (sessions_app/introspection.py):
        # {client id: "sha256:<hex of its secret's SHA-256>"}; `manage.py make_introspection_client` makes one.
        "INTROSPECTION_CLIENTS": {},
        # Sessions deleted per statement by `purge_sessions`, and the seconds it waits between two statements. Small
        # batches with a pause let the purge run beside live traffic: each batch's WAL and locks are a moment's work,
        # so the refreshes' p99 rose 1.15x during a purge where batches of 1000 without a pause raised it 2.35x
        # (`make bench-scale`), at about 800 sessions a second. Off-peak, `--batch-size 1000 --pause 0` goes faster.
        "PURGE_BATCH_SIZE": 20,
        "PURGE_PAUSE": 0.02,
        # The most live sessions one user may have; a sign-in past it ends the user's oldest ones (revoke reason
        # `session_limit`, event `session_evicted`). 100 is far more than anyone's devices and browsers, so a real
        # person never meets it, yet it bounds what a script that logs in over and over with a stolen or shared
        # password can pile up: the rows, each list of sessions, the work of ending them all. None: no cap.
        "MAX_SESSIONS_PER_USER": 100,
        # Sessions per page of a user's list (`GET sessions/`, the sessions page), newest sign-in first; further
        # pages by cursor.
        "SESSIONS_PAGE_SIZE": 10,
    },
)
