"""Account emails: links, rendering (HTML + plain text) and delivery through Django's mail API.

Templates: templates/emails/<name>_subject.txt, <name>.txt and <name>.html (a host project overrides them
with its own templates directory). Delivery never raises: the change the email is about is already
committed, and every email can be asked for again (resend verification, request another reset).
"""
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
import functools
import logging
import threading

from django.core.mail import EmailMultiAlternatives
from django.db import connections
from django.template.defaultfilters import pluralize
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse, set_script_prefix, set_urlconf

from .conf import app_settings
from .context_processors import login_url
from .models import User

logger = logging.getLogger(__name__)


def _link(url_template: str, url_name: str, token: str) -> str:
    # Built from the configured SITE_URL, never from the request's Host header: a forged Host would
    # otherwise send the victim's token to the attacker's site (OWASP Forgot Password cheat sheet).
    if url_template:
        return url_template.replace("{token}", token)
    return app_settings.SITE_URL.rstrip("/") + reverse(url_name, args=[token])


def verification_link(token: str) -> str:
    return _link(app_settings.VERIFY_EMAIL_URL_TEMPLATE, "accounts:verify-email", token)


def password_reset_link(token: str) -> str:
    return _link(app_settings.PASSWORD_RESET_URL_TEMPLATE, "accounts:password-reset-link", token)


def password_reset_request_url() -> str | None:
    """The built-in "forgot password" page, for emails that point there (None if it is not mounted)."""
    try:
        return app_settings.SITE_URL.rstrip("/") + reverse("accounts:password-reset")
    except NoReverseMatch:
        return None


def human_duration(value: timedelta) -> str:
    minutes = int(value.total_seconds() // 60)
    if minutes % 60:
        return f"{minutes} minute{pluralize(minutes)}"
    return f"{minutes // 60} hour{pluralize(minutes // 60)}"


MINTED_AT_RENDER = {"link"}


def send_account_email(*, user: User, template: str, **context) -> None:
    """Render emails/<template>* for `user` and send it to the stored address. Never raises.

    With EMAIL_DELIVERY "background" both rendering and sending happen on the worker thread, so the
    request that asked for the email does the same work whether or not one is sent."""
    context = {"user": user, "site_name": app_settings.SITE_NAME, "site_url": app_settings.SITE_URL,
               "login_url": login_url(),
               "reset_url": password_reset_request_url(), **context}
    if app_settings.EMAIL_DELIVERY == "background":
        # The worker thread has no request: it renders links (reverse()) under this request's URL prefix
        # and URLconf, or a service mounted under a sub-path would mail links that lead nowhere.
        _after_the_response(functools.partial(_send_in_background, user, template, context,
                                              get_script_prefix(), get_urlconf()))
    else:
        _render_and_send(user, template, context)


def _render_and_send(user: User, template: str, context: dict) -> None:
    try:
        # A link is minted here, as the email is rendered (the receivers pass a function that makes it), so
        # no token travels in a signal or waits in a queue.
        context = {key: value() if callable(value) and key in MINTED_AT_RENDER else value
                   for key, value in context.items()}
        subject = " ".join(render_to_string(f"emails/{template}_subject.txt", context).split())
        message = EmailMultiAlternatives(subject, render_to_string(f"emails/{template}.txt", context), to=[user.email])
        message.attach_alternative(render_to_string(f"emails/{template}.html", context), "text/html")
        message.send()
    except Exception:
        # Only which email failed and for whom: the body holds a credential (the link) and is never logged.
        logger.exception("Could not send the %s email to user %s", template, user.pk)


def _send_in_background(user: User, template: str, context: dict, script_prefix: str = "/",
                        urlconf: str | None = None) -> None:
    set_script_prefix(script_prefix)
    set_urlconf(urlconf)
    try:
        _render_and_send(user, template, context)
    finally:
        # A template that touches the database opens a connection for this thread; do not leak it.
        connections.close_all()


# Background jobs queued during a request wait here until its response has been sent. The worker thread
# shares the interpreter with the request, so an email rendered and sent while the response is still being
# produced would slow that response down, and a reset request for a known address would take measurably
# longer than one for an unknown address. Held back, the two requests do the same work.
_request_state = threading.local()


def hold_jobs_until_response_sent(sender=None, **kwargs) -> None:
    """request_started receiver: from now on this thread's background jobs wait for the response."""
    release_jobs_after_response()  # left by a request whose response never finished: they go now
    _request_state.held_jobs = []


def release_jobs_after_response(sender=None, **kwargs) -> None:
    """request_finished receiver (the server has sent the response and closed it): start the held jobs."""
    jobs, _request_state.held_jobs = getattr(_request_state, "held_jobs", None) or [], None
    for job in jobs:
        _executor().submit(job)


def _after_the_response(job) -> None:
    held = getattr(_request_state, "held_jobs", None)
    if held is None:  # not in a request (a management command, the shell): start it now
        _executor().submit(job)
    else:
        held.append(job)


_executor_lock = threading.Lock()
_executor_instance: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    # One worker: emails leave in order, and the queue drains at interpreter exit (concurrent.futures
    # joins its workers then), so a graceful restart does not drop queued mail.
    global _executor_instance
    with _executor_lock:
        if _executor_instance is None:
            _executor_instance = ThreadPoolExecutor(max_workers=1, thread_name_prefix="account-email")
        return _executor_instance


def wait_for_background_emails(timeout: float | None = 30) -> None:
    """Block until every email queued so far has been handed to the backend (tests, shutdown hooks)."""
    _executor().submit(lambda: None).result(timeout=timeout)
