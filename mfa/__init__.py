"""Second factors: authenticator-app codes (TOTP) and single-use recovery codes, plugged into the login and
reauthentication flows of accounts through accounts.second_factor."""
