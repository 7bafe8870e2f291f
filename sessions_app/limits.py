"""The rate-limit scopes of sessions (authcore.ratelimit)."""
from authcore.ratelimit import declare_scope

# Fails open: a refresh presents a 256-bit token, so there is nothing to guess, and refusing refreshes
# while the cache is down would log every client out as its access token expires.
REFRESH = declare_scope("refresh", ip="120/m", fail_open=True).name
# Fails open: the caller proved a 256-bit secret, so there is nothing to guess, and refusing while the cache is down
# would make every resource server refuse its users.
# Failed authentications of resource servers, per network: only failures count, and only failures are refused, so
# wrong secrets sent from a shared network never hold up a resource server that has the right one.
INTROSPECT_AUTH = declare_scope("introspect_auth", ip="30/m", fail_open=True).name
# Per resource server, once it is authenticated.
INTROSPECT_CLIENT = declare_scope("introspect_client", account="1200/m", fail_open=True).name
# The cache that remembers DPoP proofs (sessions_app/dpop.py): fails closed, a proof that cannot be remembered could
# be replayed. No rates: only its cache policy.
DPOP = declare_scope("dpop", fail_open=False).name
