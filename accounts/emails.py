"""Account emails: which change sends which email (CHANGES), the durable queue they wait in, and their
rendering (HTML + plain text) and delivery through Django's mail API (django-ses in production).

A flow announces a change inside its own transaction (`announce`): the email's task row commits or rolls
back with the change (authcore.tasks), and the change's signal goes to other receivers once the transaction
commits. `manage.py task_worker` then renders and sends the email: the link a verification or reset email
carries is minted at that moment, by the flow that owns the link (it registers how with `register_rendering`),
so no token waits in the queue; a temporary failure of the provider (throttling, the network) is retried
with backoff while a permanent one (an address SES rejects) is kept, failed, in the admin.

This module knows no flow and no model: flows register what their emails need at render time, and the user
is looked up through get_user_model(), so the models and the flows can both use it.

Templates: accounts/emails/<name>_subject.txt, <name>.txt and <name>.html in this app's templates directory (a
host project overrides them with files of the same names in its own templates directory).
"""
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
import logging
import smtplib

from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.dispatch import Signal
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse, set_script_prefix, set_urlconf
from django.utils import timezone, translation
from django.utils.translation import ngettext

from authcore.tasks import RetryLater, enqueue_with_transaction, task

from . import signals
from .conf import app_settings
from .context_processors import login_url
from .languages import recipient_language, request_language, supported

logger = logging.getLogger(__name__)


# --- which change sends which email ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Change:
    """A change a user (or a mailbox) hears about: the email it sends, and the signal that tells other
    receivers of it once it commits (None: the change has no signal of its own)."""

    template: str
    signal: Signal | None = None
    # Sent to the address it was queued for even if the account is gone or deactivated by then: an attacker
    # who moves an account and deletes it at once must not keep the owner from hearing of either.
    sent_after_deletion: bool = False


CHANGES = {
    "user_registered": Change("verify_email", signals.user_registered),
    "verification_requested": Change("verify_email", signals.verification_email_requested),
    # To the owner of an address someone tried to register again: a notice, never a link.
    "registration_attempted": Change("account_exists", signals.registration_attempted_for_existing_email),
    "email_verified": Change("welcome", signals.email_verified),
    "password_reset_requested": Change("password_reset", signals.password_reset_requested),
    "password_changed": Change("password_changed", signals.password_changed),
    # To the new address: the link that confirms it; to the owner of a taken one: a notice without a link.
    "email_change_requested": Change("confirm_email_change"),
    "email_change_taken": Change("email_change_taken"),
    # To the old address.
    "email_changed": Change("email_changed", signals.email_changed, sent_after_deletion=True),
    "account_deleted": Change("account_deleted", signals.account_deleted, sent_after_deletion=True),
    # Security notifications (flows.sign_in_alerts, flows.reauthentication).
    "new_sign_in": Change("new_sign_in"),
    "session_ended_reuse": Change("session_ended_reuse"),
    "session_ended_password_guesses": Change("session_ended_password_guesses"),
}
TEMPLATES = {change.template: change for change in CHANGES.values()}


def register_change(name: str, change: Change) -> None:
    """A change another app announces (the mfa app's factor added, removed, ...), with its email templates in
    that app's templates directory under accounts/emails/."""
    CHANGES[name] = change
    TEMPLATES[change.template] = change


def announce(change: str, *, user, to: str | None = None, to_language: str | None = None,
             signal_args: dict | None = None, **details) -> None:
    """The one way a change is told: queue its email in the current transaction (it commits or rolls back
    with the change), and send its signal to other receivers once the transaction commits.

    `details` (JSON values, never a secret) go into the email's context and, unless `signal_args` says what
    the signal carries instead, to the signal with `user`. With user None (no account has the address) a
    task is queued that sends nothing, and no signal: a flow that must not show whether an address has an
    account does the same work either way. `to`: the address to write to when it is not the account's at
    sending time (the old address told of a change, a new one asked to confirm it); `to_language`: the language
    of that recipient when it is not `user` (another account's owner, an account being deleted).

    send_robust: a failing receiver is logged by Django and never turns committed work into an error."""
    queue_email(user=user, template=CHANGES[change].template, to=to, to_language=to_language, **details)
    if user is not None or signal_args is not None:
        send_signal(change, **(signal_args if signal_args is not None else {"user": user, **details}))


def send_signal(change: str, **arguments) -> None:
    """The change's signal alone (if it has one), once the transaction commits: for a change whose email is
    not sent this time (the notice of an address change to an address nobody proved)."""
    signal = CHANGES[change].signal
    if signal is not None:
        transaction.on_commit(lambda: signal.send_robust(sender=get_user_model(), **arguments))


def queue_email(*, user, template: str, to: str | None = None, to_language: str | None = None, **details) -> None:
    """Queue accounts/emails/<template>* in the current transaction (through `announce`)."""
    urlconf = get_urlconf()
    # The language of the recipient: `user`'s, read again when the email is written (their choice may change
    # in between); or `to_language` for the owner of another account, or of one about to be deleted; or, for
    # an address no account has, the request's.
    user_decides = user is not None and to_language is None
    if to_language is not None:
        language = supported(to_language or None)
    elif user is not None:
        language = supported(user.language or None)
    else:
        language = request_language()
    enqueue_with_transaction(
        deliver_account_email, str(user.pk) if user is not None else None, template, details, to=to,
        # The worker has no request: it builds links under the URL prefix and URLconf this one was
        # served with, or a service mounted under a sub-path would mail links that lead nowhere.
        url_prefix=get_script_prefix(), urlconf=urlconf if isinstance(urlconf, str) else None,
        queued_at=timezone.now().isoformat(), language=language, user_decides_language=user_decides)


# --- what the flows register for rendering ---------------------------------------------------------------------
@dataclass(frozen=True)
class Rendering:
    """What an email needs when the worker renders it, registered by the flow that owns it."""

    # (user, queued details) -> more context, computed then: a link token is minted from the account's
    # state at that moment, so none is stored in the queue or sent in a signal.
    context: Callable[..., dict] | None = None
    # The lifetime of the link it carries: a request older than that when the worker gets to it (a long SES
    # outage, an operator retrying an old failure) is not sent. The link would be freshly minted and valid,
    # but for a request the user may no longer expect, made before a later login or password change.
    link_lifetime: Callable[[], timedelta] | None = None
    # (user, queued details) -> whether the request it answers still stands (a newer one replaces it).
    still_wanted: Callable[..., bool] | None = None


RENDERINGS: dict[str, Rendering] = {}


def register_rendering(template: str, **rendering) -> None:
    if template not in TEMPLATES:
        raise ValueError(f"No change sends the {template!r} email (accounts.emails.CHANGES).")
    RENDERINGS[template] = Rendering(**rendering)


# --- links ----------------------------------------------------------------------------------------------------
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


def password_reset_request_url() -> str | None:
    """The built-in "forgot password" page, for emails that point there (None if it is not mounted)."""
    try:
        return app_settings.SITE_URL.rstrip("/") + reverse("accounts:password-reset")
    except NoReverseMatch:
        return None


def human_duration(value: timedelta) -> str:
    """A link's lifetime as the email says it, in the language active while the email renders."""
    if value >= timedelta(days=1) and not value % timedelta(days=1):  # "7 days", not "168 hours"
        return ngettext("%(count)d day", "%(count)d days", value.days) % {"count": value.days}
    minutes = int(value.total_seconds() // 60)
    if minutes % 60:
        return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}
    hours = minutes // 60
    return ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}


# --- delivery (the worker) -------------------------------------------------------------------------------------
def _not_to_send(user, template: str, details: dict, *, to: str | None, queued_at: str | None) -> str | None:
    """Why the queued email is not sent after all, or None."""
    kind, rendering = TEMPLATES[template], RENDERINGS.get(template, Rendering())
    if user is None and not (to and kind.sent_after_deletion):
        return "no recipient"
    if user is not None and not user.is_active and not kind.sent_after_deletion:
        return "not sent: account deactivated"
    if rendering.still_wanted is not None and not rendering.still_wanted(user, details):
        return "not sent: superseded"
    age = timezone.now() - datetime.fromisoformat(queued_at) if queued_at else timedelta(0)
    if rendering.link_lifetime is not None and age > rendering.link_lifetime():
        return "not sent: the request is older than its link's lifetime"
    return None


@task()
def deliver_account_email(user_id: str | None, template: str, details: dict, *, to: str | None = None,
                          url_prefix: str = "/", urlconf: str | None = None, queued_at: str | None = None,
                          language: str | None = None, user_decides_language: bool = True) -> str:
    """The queued task: render and send one account email, in its recipient's language (the account's as it is
    now, not the language of the request that queued it). Returns what happened, for the admin."""
    user = get_user_model().objects.filter(pk=user_id).first() if user_id is not None else None
    reason = _not_to_send(user, template, details, to=to, queued_at=queued_at)
    if reason is not None:
        return reason
    previous_prefix, previous_urlconf = get_script_prefix(), get_urlconf()
    set_script_prefix(url_prefix)
    set_urlconf(urlconf)
    try:
        with translation.override(recipient_language(user if user_decides_language else None, language)):
            context = {"user": user, "site_name": app_settings.SITE_NAME, "site_url": app_settings.SITE_URL,
                       "login_url": login_url(), "reset_url": password_reset_request_url(), **details}
            rendering = RENDERINGS.get(template)
            if rendering is not None and rendering.context is not None:
                context.update(rendering.context(user, details))
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
    subject = " ".join(render_to_string(f"accounts/emails/{template}_subject.txt", context).split())
    message = EmailMultiAlternatives(subject, render_to_string(f"accounts/emails/{template}.txt", context), to=[to])
    message.attach_alternative(render_to_string(f"accounts/emails/{template}.html", context), "text/html")
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
    botocore_errors = _botocore_errors()
    if botocore_errors and isinstance(error, botocore_errors.ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return error.response.get("Error", {}).get("Code") in TEMPORARY_SES_CODES or status >= 500
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500  # an SMTP backend: 4xx is "try again", 5xx is final
    if isinstance(error, smtplib.SMTPRecipientsRefused):  # greylisting (4xx) is "later"
        return bool(error.recipients) and all(400 <= code < 500 for code, _ in error.recipients.values())
    # No credentials yet: an instance role's credentials come from a metadata service that can hiccup.
    temporary: tuple[type[BaseException], ...] = (OSError,)
    if botocore_errors:
        temporary += (botocore_errors.ConnectionError, botocore_errors.HTTPClientError,
                      botocore_errors.NoCredentialsError, botocore_errors.CredentialRetrievalError)
    return isinstance(error, temporary)


def _botocore_errors():
    """botocore's exceptions module, or None: SES (django-ses, boto3) is an optional part of the package (the
    `ses` extra), and a host that sends through SMTP has no botocore to import."""
    try:
        from botocore import exceptions
    except ImportError:
        return None
    return exceptions
