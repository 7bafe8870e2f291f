"""The security events sessions record (OWASP Logging Vocabulary names)."""
from authcore.audit import declare_event

TOKEN_REUSE = declare_event(
    "authn_token_reuse", "A spent refresh token came back: its session (the token family) was ended "
    "(details: `token_id`).")
SESSION_REVOKED = declare_event(
    "authn_token_revoked", "One or more sessions were ended (details: `reason`, one of the revoke reasons, "
    "and `count` when several ended at once).")
