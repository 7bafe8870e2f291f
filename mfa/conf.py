from authcore.conf import AppSettings

app_settings = AppSettings(
    "MFA",
    {
        # AES-256-GCM keys for the authenticator-app secrets, each 32 bytes in URL-safe base64, newest first: the
        # first encrypts, every one decrypts. Empty under DEBUG: a development key derived from SECRET_KEY; in
        # production the check mfa.E002 asks for one.
        "ENCRYPTION_KEYS": [],
        # The issuer an authenticator app shows beside the account (empty: ACCOUNTS["SITE_NAME"]).
        "TOTP_ISSUER": "",
        # Steps of 30 seconds either side of now that a code may come from (clock drift of the phone).
        "TOTP_TOLERANCE_STEPS": 1,
        # Recovery codes made at a time, and the count at or below which the owner is told to make new ones.
        "RECOVERY_CODE_COUNT": 10,
        "RECOVERY_CODES_LOW": 2,
        # Security keys and passkeys (WebAuthn): the relying party's id, a domain the keys are bound to (empty: the
        # host of ACCOUNTS["SITE_URL"]); its name shown by the browser (empty: ACCOUNTS["SITE_NAME"]); the origins
        # whose pages may use them (empty: the origin of SITE_URL; add the origin of a single-page app here).
        "WEBAUTHN_RP_ID": "",
        "WEBAUTHN_RP_NAME": "",
        "WEBAUTHN_ORIGINS": [],
        # Staff (is_staff) must have a second factor before the admin opens: without one, the admin sends
        # them to set one up.
        "REQUIRE_FOR_STAFF": False,
    },
)
