"""The rate-limit scopes of connected accounts (authcore.ratelimit); "account" is the user id."""
from authcore.ratelimit import declare_scope

# Starting a connection stores a pending row: bounded per user. Completing is bounded per IP (the browser
# callback has no user until the state is looked up).
CONNECT = declare_scope("connect", ip="30/m", account="10/m", fail_open=True).name
COMPLETE_CONNECTION = declare_scope("complete_connection", ip="30/m", fail_open=True).name
