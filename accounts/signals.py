"""Account lifecycle signals. Each is sent on transaction commit, so receivers (emails) never act on
data that was rolled back. Receivers live in accounts/receivers.py."""
from django.dispatch import Signal

# user, token (raw verification token, for the email), already_registered
user_registered = Signal()
# user
email_verified = Signal()
# user, reason ("changed" or "reset")
password_changed = Signal()
# user, token (raw reset token, for the email)
password_reset_requested = Signal()
# user (an existing account), when someone tries to register its address
registration_attempted_for_existing_email = Signal()
