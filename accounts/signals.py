"""Account lifecycle signals. Each is sent on transaction commit, so receivers (emails) never act on
data that was rolled back. The built-in receivers, which send the emails, live in accounts/receivers.py.

Raw tokens travel in the signal so the email can carry the link; receivers must never log them.
"""
from django.dispatch import Signal

# user, token (raw verification token, for the email): a new account was created
user_registered = Signal()
# user, token: the owner asked for another verification email (resend, or a login refused as unverified)
verification_email_requested = Signal()
# user
email_verified = Signal()
# user, reason: "changed" (by the user), "reset" (emailed link) or "set" (by an operator, a command or
# anything else that saved a new password); every session of the user has ended
password_changed = Signal()
# user, token (raw reset token, for the email)
password_reset_requested = Signal()
# user (an existing account), when someone tries to register its address
registration_attempted_for_existing_email = Signal()
