"""The security events of connected accounts. None ever carries a token value."""
from authcore.audit import declare_event

CONNECTED = declare_event(
    "connection_created", "A user connected an account at a provider (details: `provider`, `scopes`).")
REFRESHED = declare_event(
    "connection_refreshed", "A connection's access token was refreshed at the provider (details: `provider`, "
    "`rotated`: whether the provider issued a new refresh token).")
REFRESH_FAILED = declare_event(
    "connection_refresh_failed", "A refresh at the provider failed (details: `provider`, `reason`, "
    "`needs_reconnect`: whether the provider refused the grant, so the user has to connect again).")
DISCONNECTED = declare_event(
    "connection_disconnected", "A connection was removed and its tokens deleted (details: `provider`, "
    "`revoked_at_provider`: whether the provider confirmed the revocation).")
REENCRYPTED = declare_event(
    "connection_reencrypted", "`reencrypt_connection_tokens` re-encrypted stored tokens under the newest key "
    "(details: `rows`).")
