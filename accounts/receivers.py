"""The built-in receivers of the account signals: one email each. Connected in AccountsConfig.ready().

The signals carry no token: a link is minted when its email is rendered (accounts/emails.py), from the
user's state at that moment."""
from . import signals
from .emails import human_duration, password_reset_link, send_account_email, verification_link
from .tokens import email_verification_tokens, make_link_token, password_reset_tokens


def send_verification_email(sender, user, **kwargs) -> None:
    send_account_email(user=user, template="verify_email",
                       link=lambda: verification_link(make_link_token(email_verification_tokens, user)),
                       lifetime=human_duration(email_verification_tokens.lifetime))


def send_account_exists_email(sender, user, **kwargs) -> None:
    send_account_email(user=user, template="account_exists")


def send_welcome_email(sender, user, **kwargs) -> None:
    send_account_email(user=user, template="welcome")


def send_password_reset_email(sender, user, **kwargs) -> None:
    send_account_email(user=user, template="password_reset",
                       link=lambda: password_reset_link(make_link_token(password_reset_tokens, user)),
                       lifetime=human_duration(password_reset_tokens.lifetime))


def send_password_changed_email(sender, user, reason, **kwargs) -> None:
    send_account_email(user=user, template="password_changed", reason=reason)


def connect() -> None:
    connections = [
        (signals.user_registered, send_verification_email, "registered"),
        (signals.verification_email_requested, send_verification_email, "verification_requested"),
        (signals.registration_attempted_for_existing_email, send_account_exists_email, "account_exists"),
        (signals.email_verified, send_welcome_email, "welcome"),
        (signals.password_reset_requested, send_password_reset_email, "password_reset"),
        (signals.password_changed, send_password_changed_email, "password_changed"),
    ]
    for signal, receiver, name in connections:
        signal.connect(receiver, dispatch_uid=f"accounts.emails.{name}")
