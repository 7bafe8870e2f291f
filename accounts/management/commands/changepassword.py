"""Django's `changepassword`, plus what any password change means here: the user's sessions end, the
change is audited, and the user is told (accounts.services.apply_password_change)."""
import getpass

from django.contrib.auth import get_user_model
from django.contrib.auth.management.commands import changepassword

from accounts.services import apply_password_change


class Command(changepassword.Command):
    def handle(self, *args, **options):
        email = options["username"] or getpass.getuser()
        user = get_user_model()._default_manager.db_manager(options["database"]).with_email(email).first()
        hash_before = user.password if user else None
        if user is not None:
            options["username"] = user.email  # Django's lookup is exact; ours ignores case
        result = super().handle(*args, **options)  # reports an unknown user itself
        if user is not None:
            user.refresh_from_db(fields=["password"])
            if user.password != hash_before:
                ended = apply_password_change(user=user)
                self.stdout.write(f"Ended {ended} session(s) of {user.email}.")
        return result
