"""Signals of the sessions app, so that apps built on it (accounts, a host project) can react to what happens
to sessions without this app importing them.

No token travels in a signal: receivers get the session row (which holds only hashes) and the client.
"""
from django.dispatch import Signal

# session, client: a spent refresh token came back and the session (its whole refresh-token family) was
# ended for it. Sent inside the transaction that ends the session, in a savepoint of its own: a receiver's
# writes (a queued email, say) commit or roll back with the revocation, and a receiver that raises is
# logged and loses only its own writes, never the revocation (services._refresh_with_spent_token).
refresh_token_reuse_detected = Signal()
