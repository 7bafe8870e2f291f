"""The security events sessions record (OWASP Logging Vocabulary names)."""
from authcore.audit import declare_event

TOKEN_REUSE = declare_event(
    "authn_token_reuse", "A spent refresh token came back: its session (the token family) was ended "
    "(details: `token_id`).")
SESSION_REVOKED = declare_event(
    "authn_token_revoked", "One or more sessions were ended (details: `reason`, one of the revoke reasons, "
    "and `count` when several ended at once).")
SESSION_EVICTED = declare_event(
    "session_evicted", "A sign-in took its user past SESSIONS_APP['MAX_SESSIONS_PER_USER']: this session, the user's "
    "oldest live one, was ended to make room, one event per session ended (details: `reason` `session_limit`, "
    "`limit`, the cap; `by_session`, the id of the session whose start ended it; the client is the sign-in's).")
INTROSPECTION_CLIENT_FAIL = declare_event(
    "authn_introspection_client_fail", "A resource server failed to authenticate to token introspection (details: "
    "`client_id`, as given).")
INTROSPECTED_INACTIVE = declare_event(
    "authn_token_introspected_inactive", "Token introspection answered that an access token of an ended session is "
    "not active (details: `client_id`, the resource server that asked; `reason` `session_ended`; the token's `sub` "
    "and session).")
