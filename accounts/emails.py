"""Account emails: which change sends which email, the durable queue they wait in, and their rendering
(HTML + plain text) and delivery through Django's mail API (django-ses in production).

A flow queues its email inside its own transaction (queue_email): the task row commits or rolls back with
the change (authcore.tasks). `manage.py task_worker` then renders and sends it: the link a verification or
reset email carries is minted at that moment, so no token waits in the queue, and a temporary failure of
the provider (throttling, the network) is retried with backoff while a permanent one (an address SES
rejects) is kept, failed, in the admin.

Templates: templates/emails/<name>_subject.txt, <name>.txt and <name>.html (a host project overrides them
with its own templates directory).
"""
from datetime import datetime, timedelta
import hashlib
import logging
import smtplib

from botocore.exceptions import ClientError, CredentialRetrievalError, HTTPClientError, NoCredentialsError
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from django.core.mail import EmailMultiAlternatives
from django.template.defaultfilters import pluralize
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse, set_script_prefix, set_urlconf
from django.utils import timezone
from django_tasks import task

from authcore.tasks import RetryLater, enqueue_with_transaction

from . import notifications, signals
from .conf import app_settings
from .context_processors import login_url
from .models import User
from .tokens import email_change_tokens, email_verification_tokens, make_link_token, password_reset_tokens

logger = logging.getLogger(__name__)


# Each emailed link: the setting that points it at a single-page app ("...{token}..."), and else the built-in
# page it opens. accounts.checks refuses a link that would have nowhere to go.
LINK_PAGES = {"VERIFY_EMAIL_URL_TEMPLATE": "accounts:verify-email",
              "PASSWORD_RESET_URL_TEMPLATE": "accounts:password-reset-link",
              "EMAIL_CHANGE_URL_TEMPLATE": "accounts:change-email",
              "NOT_ME_URL_TEMPLATE": "accounts:not-me"}


def emailed_link(template_setting: str, token: str) -> str:
    """The link an email carries for `token`: the single-page app's template, or the built-in page.

    Built from the configured SITE_URL, never from the request's Host header: a forged Host would otherwise
    send the victim's token to the attacker's site (OWASP Forgot Password cheat sheet)."""
    url_template = getattr(app_settings, template_setting)
    if url_template:
        return url_template.replace("{token}", token)
    return app_settings.SITE_URL.rstrip("/") + reverse(LINK_PAGES[template_setting], args=[token])


def verification_link(token: str) -> str:
    return emailed_link("VERIFY_EMAIL_URL_TEMPLATE", token)


def password_reset_link(token: str) -> str:
    return emailed_link("PASSWORD_RESET_URL_TEMPLATE", token)


def email_change_link(token: str) -> str:
    return emailed_link("EMAIL_CHANGE_URL_TEMPLATE", token)


def password_reset_request_url() -> str | None:
    """The built-in "forgot password" page, for emails that point there (None if it is not mounted)."""
    try:
        return app_settings.SITE_URL.rstrip("/") + reverse("accounts:password-reset")
    except NoReverseMatch:
        return None


def human_duration(value: timedelta) -> str:
    if value >= timedelta(days=1) and not value % timedelta(days=1):  # "7 days", not "168 hours"
        return f"{value.days} day{pluralize(value.days)}"
    minutes = int(value.total_seconds() // 60)
    if minutes % 60:
        return f"{minutes} minute{pluralize(minutes)}"
    return f"{minutes // 60} hour{pluralize(minutes // 60)}"


# Which email each account change sends (the flows call queue_email_for in their transaction; the signal
# of the same name goes to other receivers once the transaction commits).
EMAIL_FOR_SIGNAL = {
    signals.user_registered: "verify_email",
    signals.verification_email_requested: "verify_email",
    signals.registration_attempted_for_existing_email: "account_exists",
    signals.email_verified: "welcome",
    signals.password_reset_requested: "password_reset",
    signals.password_changed: "password_changed",
}


# The emails whose link has a lifetime: one whose request is older than that when the worker gets to it
# (a long SES outage, an operator retrying an old failure) is not sent. The link would be freshly minted
# and valid, but for a request the user may no longer expect, made before a later login or password change.
LINK_LIFETIME = {"verify_email": lambda: email_verification_tokens.lifetime,
                 "password_reset": lambda: password_reset_tokens.lifetime,
                 "confirm_email_change": lambda: email_change_tokens.lifetime}


def _verify_email_context(user: User, details: dict) -> dict:
    return {"link": verification_link(make_link_token(email_verification_tokens, user)),
            "lifetime": human_duration(email_verification_tokens.lifetime)}


def _password_reset_context(user: User, details: dict) -> dict:
    return {"link": password_reset_link(make_link_token(password_reset_tokens, user)),
            "lifetime": human_duration(password_reset_tokens.lifetime)}


def _email_change_context(user: User, details: dict) -> dict:
    return {"link": email_change_link(make_link_token(email_change_tokens, user)),
            "lifetime": human_duration(email_change_tokens.lifetime)}


# What a template needs beyond what was queued, computed as it is rendered: the link tokens are minted
# here, from the user's state at that moment, so none is ever stored in the queue or sent in a signal.
CONTEXT_AT_RENDER = {"verify_email": _verify_email_context, "password_reset": _password_reset_context,
                     "confirm_email_change": _email_change_context}
# The security notifications (accounts/notifications.py, which queues them through this module, hence the
# lookup at render time): the "this wasn't me" link is minted here like the others.
CONTEXT_AT_RENDER.update({
    "new_sign_in": lambda user, details: notifications.new_sign_in_context(user, details),
    "session_ended_reuse": lambda user, details: notifications.reuse_alert_context(user, details),
})

# Emails that only make sense while the request they answer still stands, asked (user, details) when the
# worker gets to them: a confirmation for an address change that a newer request replaced is not sent.
def email_change_account_state(user: User) -> str:
    """What an address change's confirmation depends on besides the pending address: the current address and
    when the password last changed. Queued with the request and compared when the link is about to be
    minted, so a password reset by the owner (or any address change) cancels an attacker's pending request
    even if its email has not gone out yet."""
    changed = user.password_changed_at.isoformat() if user.password_changed_at else ""
    return hashlib.sha256(f"{user.email}|{changed}".encode()).hexdigest()


def _email_change_still_wanted(user: User, details: dict) -> bool:
    return (user.pending_email == details.get("new_email") and user.pending_email_requested_at is not None
            and user.pending_email_requested_at.isoformat() == details.get("requested_at")
            and email_change_account_state(user) == details.get("account_state"))


STILL_WANTED = {"confirm_email_change": _email_change_still_wanted}


def queue_email_for(signal, *, user: User | None, **details) -> None:
    """Queue the email that `signal`'s change sends, in the current transaction."""
    queue_email(user=user, template=EMAIL_FOR_SIGNAL[signal], **details)


def queue_email(*, user: User | None, template: str, to: str | None = None, **details) -> None:
    """Queue emails/<template>* for `user` in the current transaction; `details` (JSON values, never a
    secret) go into its context. With user None a task is queued that sends nothing: a flow that must not
    show whether an address has an account (password reset) does the same work in either case.

    `to`: the address to send to when it is not the account's address at sending time (the old address
    told of a change, a new address asked to confirm it, the address of an account being deleted); the
    email then still goes out if the account is gone by then (SENT_AFTER_DELETION)."""
    urlconf = get_urlconf()
    enqueue_with_transaction(
        deliver_account_email, str(user.pk) if user is not None else None, template, details, to=to,
        # The worker has no request: it builds links under the URL prefix and URLconf this one was
        # served with, or a service mounted under a sub-path would mail links that lead nowhere.
        url_prefix=get_script_prefix(), urlconf=urlconf if isinstance(urlconf, str) else None,
        queued_at=timezone.now().isoformat())


# Notices to an address the account had: its deletion, and its address moving away. They go out even if the
# account is gone or deactivated by then: an attacker who moves an account and deletes it at once must not
# keep the owner from hearing of either.
SENT_AFTER_DELETION = {"account_deleted", "email_changed"}


@task()
def deliver_account_email(user_id: str | None, template: str, details: dict, *, to: str | None = None,
                          url_prefix: str = "/", urlconf: str | None = None, queued_at: str | None = None) -> str:
    """The queued task: render and send one account email. Returns what happened, for the admin."""
    user = User.objects.filter(pk=user_id).first() if user_id is not None else None
    if user is None and not (to and template in SENT_AFTER_DELETION):
        return "no recipient"
    if user is not None and not user.is_active and template not in SENT_AFTER_DELETION:
        return "not sent: account deactivated"
    if template in STILL_WANTED and not STILL_WANTED[template](user, details):
        return "not sent: superseded"
    age = timezone.now() - datetime.fromisoformat(queued_at) if queued_at else timedelta(0)
    if template in LINK_LIFETIME and age > LINK_LIFETIME[template]():
        return "not sent: the request is older than its link's lifetime"
    previous_prefix, previous_urlconf = get_script_prefix(), get_urlconf()
    set_script_prefix(url_prefix)
    set_urlconf(urlconf)
    try:
        context = {"user": user, "site_name": app_settings.SITE_NAME, "site_url": app_settings.SITE_URL,
                   "login_url": login_url(), "reset_url": password_reset_request_url(), **details}
        if template in CONTEXT_AT_RENDER:
            context.update(CONTEXT_AT_RENDER[template](user, details))
        message = _render(template, context, to=to or user.email)
    finally:
        set_script_prefix(previous_prefix)
        set_urlconf(previous_urlconf)
    try:
        message.send()
    except Exception as error:
        # Only which email failed and for whom: the body holds a credential (the link) and is never logged.
        if is_temporary(error):
            raise RetryLater(f"the {template} email to user {user_id}: {type(error).__name__}: {error}") from None
        logger.error("Could not send the %s email to user %s: %s", template, user_id, type(error).__name__)
        raise
    return "sent"


def _render(template: str, context: dict, *, to: str) -> EmailMultiAlternatives:
    subject = " ".join(render_to_string(f"emails/{template}_subject.txt", context).split())
    message = EmailMultiAlternatives(subject, render_to_string(f"emails/{template}.txt", context), to=[to])
    message.attach_alternative(render_to_string(f"emails/{template}.html", context), "text/html")
    return message


# SES error codes that mean "later", not "never" (throttling, quotas per second, SES itself failing).
TEMPORARY_SES_CODES = {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestTimeout",
                       "ServiceUnavailable", "InternalFailure", "InternalError",
                       # credentials that expired or a request signed with a skewed clock: renewed soon
                       "ExpiredToken", "ExpiredTokenException", "RequestExpired"}


def is_temporary(error: BaseException) -> bool:
    """Would the same send succeed later? Yes for throttling, SES's own 5xx errors and the network
    (timeouts, refused or dropped connections); no for what SES rejects on its merits (an unverified
    sender, a malformed address), which retrying would only repeat."""
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return error.response.get("Error", {}).get("Code") in TEMPORARY_SES_CODES or status >= 500
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500  # an SMTP backend: 4xx is "try again", 5xx is final
    if isinstance(error, smtplib.SMTPRecipientsRefused):  # greylisting (4xx) is "later"
        return bool(error.recipients) and all(400 <= code < 500 for code, _ in error.recipients.values())
    # No credentials yet: an instance role's credentials come from a metadata service that can hiccup.
    return isinstance(error, (BotocoreConnectionError, HTTPClientError, NoCredentialsError,
                              CredentialRetrievalError, OSError))
