"""Account lifecycle signals, for a host project's own receivers. Each is sent on transaction commit, so
receivers never act on data that was rolled back. The emails do not hang on them: a flow queues its email
in its own transaction (accounts/emails.py), where it commits or rolls back with the change.

No token travels in a signal: an email's link is minted when the email is rendered (accounts/emails.py),
so a receiver connected by anyone else never sees a credential.
"""
from django.dispatch import Signal

# user: a new account was created
user_registered = Signal()
# user: the owner asked for another verification email (resend, or a login refused as unverified)
verification_email_requested = Signal()
# user
email_verified = Signal()
# user, reason: "changed" (by the user), "reset" (emailed link) or "set" (by an operator, a command or
# anything else that saved a new password); every session of the user has ended
password_changed = Signal()
# user: a password reset link is to be sent
password_reset_requested = Signal()
# user (an existing account), when someone tries to register its address
registration_attempted_for_existing_email = Signal()
# user, previous_email: the user confirmed a new address (user.email); the old one has been told
email_changed = Signal()
# user_id, email: an account was deleted (by its owner or an operator); the row is gone
account_deleted = Signal()
