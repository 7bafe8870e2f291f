"""The rate-limit scopes of second factors (authcore.ratelimit); "account" is the user id. Answers with a factor
are bounded by the accounts' scopes (login_second_step, prove_password) and the account lock."""
from authcore.ratelimit import declare_scope

# Adding, confirming, removing a factor, new recovery codes: fail closed (confirming checks a code).
MANAGE_FACTORS = declare_scope("manage_factors", ip="30/m", account="10/m", fail_open=False).name
# Signing in with a passkey: per IP (the answer names no account until its key is found). Fails closed.
PASSKEY_LOGIN = declare_scope("passkey_login", ip="30/m", fail_open=False).name
