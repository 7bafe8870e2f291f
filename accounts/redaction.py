"""What log lines must not show of accounts: the live token of an emailed link. Django logs the path of a
failed request, and each link's path carries its token as the last segment (urls.py): the HMAC links'
"<uid>.<timestamp>-<hmac>" (tokens.py), and the sign-in alert's signed "<value>:<timestamp>:<signature>".
Imported by AccountsConfig.ready(); authcore.logs blanks the token and keeps the path before it."""
from authcore.logs import register_redaction

LINK_TOKEN_IN_PATH = register_redaction(
    r"(/(?:verify-email|password-reset|change-email|not-me)/)"
    r"(?:[A-Za-z0-9_-]+\.[0-9a-z]+-[0-9a-f]+|[A-Za-z0-9_-]+:[A-Za-z0-9]+:[A-Za-z0-9_-]+)"
)
