"""The error codes of sessions: what refreshing a token or presenting an access token can fail with."""
from django.utils.translation import gettext_lazy as _

from authcore.errors import ErrorSpec, register_errors

register_errors(
    {
        "token_not_valid": ErrorSpec(401, _("The token is invalid or expired.")),
        "csrf_failed": ErrorSpec(
            403, _("CSRF check failed: send the csrftoken cookie's value in the X-CSRFToken header from an allowed "
                   "origin.")),
        "no_session_cookie": ErrorSpec(
            401, _("No session cookie: sign in again."),
            note="The cookie endpoint's refresh without its cookie: no live cookie session in this browser (never "
                 "signed in, signed out, or the cookie expired). A browser app treats it as signed out."),
        "reauthentication_required": ErrorSpec(
            403, _("Confirm your password to continue."),
            note="A sensitive action asked without a password, by a browser session whose sign-in or last "
                 "reauthentication is older than SESSIONS_APP['RECENT_AUTHENTICATION_WINDOW'] (the account pages "
                 "then ask for the password)."),
        "second_factor_required": ErrorSpec(
            403, _("This needs two-step sign-in: turn it on for your account, then sign in again."),
            note="An endpoint or page of the host project that asks for a sign-in with a second factor "
                 "(sessions_app.permissions.MultiFactorAuthenticated, sessions_app.browser.multi_factor_page), "
                 "reached by a session signed in without one."),
        "invalid_dpop_proof": ErrorSpec(
            400, _("The DPoP proof is missing or does not hold. Make a new one for this request."),
            note="A login or refresh with a DPoP proof (RFC 9449) that is malformed, not signed by the key its header "
                 "names, for another method or URL, not made just now, used before, or, for a session bound to a "
                 "key, missing or by another key (`reason` says which); or none where SESSIONS_APP['DPOP'] is "
                 "'required'. On the API the same is a 401 `token_not_valid` with `WWW-Authenticate: DPoP "
                 "error=\"invalid_dpop_proof\"`."),
        "use_dpop_nonce": ErrorSpec(
            400, _("Make the DPoP proof again with the nonce in the DPoP-Nonce header."),
            note="SESSIONS_APP['DPOP_NONCE'] is on and the proof carries no current server nonce; the answer's "
                 "`DPoP-Nonce` header has one (RFC 9449 §8)."),
        "invalid_client": ErrorSpec(
            401, _("The resource server could not be authenticated."),
            note="Token introspection asked by a client that is not in SESSIONS_APP['INTROSPECTION_CLIENTS'], or "
                 "with the wrong secret (RFC 7662 §2.3, RFC 6749 §5.2); audited as "
                 "`authn_introspection_client_fail`."),
        "invalid_cursor": ErrorSpec(
            400, _("This page of the list is no longer valid. Start again from the first page."),
            note="A `cursor` that no page of the list handed out: take the one in the previous answer's `Link` "
                 "header (`rel=\"next\"` or `rel=\"prev\"`), or leave it out for the first page."),
        "refresh_token_reused": ErrorSpec(
            401, _("This refresh token was already used. The session has been ended; please log in again.")),
    },
    # simplejwt's and DRF's failed authentication answer with our code.
    drf_aliases={"authentication_failed": "token_not_valid", "token_not_valid": "token_not_valid"},
)
