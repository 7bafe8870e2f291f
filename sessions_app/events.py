"""The security events sessions record (OWASP Logging Vocabulary names)."""

TOKEN_REUSE = "authn_token_reuse"  # a spent refresh token came back: the family was ended
SESSION_REVOKED = "authn_token_revoked"  # one or more sessions were ended (details: reason, count)
