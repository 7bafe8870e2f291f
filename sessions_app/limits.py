"""The rate-limit scopes of sessions (authcore.ratelimit)."""
from authcore.ratelimit import declare_scope

# Fails open: a refresh presents a 256-bit token, so there is nothing to guess, and refusing refreshes
# while the cache is down would log every client out as its access token expires.
REFRESH = declare_scope("refresh", ip="120/m", fail_open=True).name
