"""Django's `changepassword`, finding the user by any spelling of the address (the accounts' lookup), as
every other way in does. What a new password means (every session ends, audit, notice) is not done here:
saving the password does it (User.save), whichever command or form stores it."""
import getpass

from django.contrib.auth import get_user_model
from django.contrib.auth.management.commands import changepassword


class Command(changepassword.Command):
    def handle(self, *args, **options):
        email = options["username"] or getpass.getuser()
        user = get_user_model()._default_manager.db_manager(options["database"]).with_email(email).first()
        if user is not None:
            options["username"] = user.email  # Django's own lookup is exact; an unknown one it reports itself
        return super().handle(*args, **options)
