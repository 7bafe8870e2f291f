from datetime import timedelta

from authcore.conf import AppSettings

app_settings = AppSettings(
    "ACCOUNTS",
    {
        # Base URL for links in emails; never taken from the request's Host header.
        "SITE_URL": "http://127.0.0.1:8000",
        # The service's name in emails and pages; the password rules also refuse passwords built on it.
        "SITE_NAME": "Auth Service",
        # Where people use the product this service signs them in to (and log in): the pages that end a
        # flow (email verified, password changed), the home page and the emails link to it. Empty: they
        # link to the root of this site (SITE_URL) instead.
        "APP_URL": "",
        # Longest password accepted anywhere (register, change, reset, login); longer gets 400.
        "PASSWORD_MAX_LENGTH": 1024,
        # How long the emailed link that verifies an address works.
        "VERIFY_EMAIL_TOKEN_LIFETIME": timedelta(hours=24),
        # How long the emailed password-reset link works.
        "PASSWORD_RESET_TOKEN_LIFETIME": timedelta(hours=1),
        # The link that confirms a new address (accounts.flows.email_change).
        "EMAIL_CHANGE_TOKEN_LIFETIME": timedelta(hours=24),
        # Refuse login (403 email_not_verified, after the password is proven) until the email is verified.
        "REQUIRE_VERIFIED_EMAIL": True,
        # Same answer for new and existing emails on register/reset/resend. Off: 400 email_taken on register.
        "ENUMERATION_PROTECTION": True,
        # For single-page apps: link templates with a {token} placeholder, e.g.
        # "https://app.example.com/verify?token={token}". Empty: the built-in browser pages.
        "VERIFY_EMAIL_URL_TEMPLATE": "",
        "PASSWORD_RESET_URL_TEMPLATE": "",
        "EMAIL_CHANGE_URL_TEMPLATE": "",
        # A login refused with 403 email_not_verified re-sends the verification email at most this often.
        "VERIFY_EMAIL_RESEND_INTERVAL": timedelta(minutes=5),
        # Login throttling (accounts/login_throttle.py): failures, not attempts, are counted per account.
        # Failures for one account from one client (its network, or a device that logged in before) before
        # that client is refused for the rest of the window.
        "LOGIN_FAILURES_PER_CLIENT": 10,
        "LOGIN_FAILURE_WINDOW": timedelta(minutes=15),
        # Consecutive failures for one account from anywhere before it is locked for new devices; each
        # further failure doubles the lock, from LOGIN_LOCKOUT_BASE up to LOGIN_LOCKOUT_MAX.
        "LOGIN_LOCKOUT_THRESHOLD": 20,
        "LOGIN_LOCKOUT_BASE": timedelta(minutes=1),
        "LOGIN_LOCKOUT_MAX": timedelta(hours=1),
        # The consecutive count is forgotten this long after the last failure.
        "LOGIN_FAILURE_MEMORY": timedelta(days=1),
        # A login stopped at its second step (401 mfa_required, accounts.flows.login): how long its mfa_token
        # can be completed, and how many wrong answers kill it (each also counts as a failed login).
        "MFA_LOGIN_TIMEOUT": timedelta(minutes=5),
        "MFA_LOGIN_ATTEMPTS": 5,
        # A wrong password typed inside a session (change password, change address, delete: accounts/
        # reauthentication.py) counts as a failed login, and the failure that brings the account's consecutive
        # failures in sessions to REAUTH_MAX_FAILURES ends the session that guessed and tells the owner. The
        # count is forgotten REAUTH_FAILURE_MEMORY after its last failure, or at a successful login.
        "REAUTH_MAX_FAILURES": 10,
        "REAUTH_FAILURE_MEMORY": timedelta(days=1),
        # The signed cookie that marks a device which has logged in to an account before; such a device
        # is not locked out by failures from elsewhere.
        "DEVICE_COOKIE_NAME": "auth_device",
        "DEVICE_COOKIE_AGE": timedelta(days=365),
        # Email the user when they log in from a device they have not used before (accounts/flows/sign_in_alerts.py).
        "SIGN_IN_ALERTS": True,
        # How long the "this wasn't me" link of that email works. It can do one thing, end the session it
        # names, which is what its owner wants if the sign-in was not theirs; so a link in an email read days
        # later (a weekend, a trip) should still work, while an old email found later does not keep one.
        "NOT_ME_LINK_LIFETIME": timedelta(days=7),
        # For single-page apps, like the templates above: e.g. "https://app.example.com/not-me?token={token}"
        # (the app then POSTs the token to /api/auth/not-me/). Empty: the built-in page.
        "NOT_ME_URL_TEMPLATE": "",
        # "Export my data" (accounts.flows.export): at most this many sessions and security events, newest first,
        # so one request's cost stays bounded whatever the account's history; the answer says when a list
        # was cut.
        "EXPORT_MAX_SESSIONS": 200,
        "EXPORT_MAX_EVENTS": 1000,
    },
)
