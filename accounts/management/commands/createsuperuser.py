"""Django's `createsuperuser`, held to the password policy in every mode. Django's own checks the policy
only when it asks for the password, and even then offers to bypass it; with `--noinput` it takes
DJANGO_SUPERUSER_PASSWORD unchecked. Here the policy (AUTH_PASSWORD_VALIDATORS, the same rules as the
API, the pages and the admin) is checked as the superuser is created, whatever the mode or the answer to
Django's bypass question; Django's command turns a refusal into an error naming the broken rules."""
from django.contrib.auth.management.commands import createsuperuser

from accounts.models import password_policy_enforced


class Command(createsuperuser.Command):
    def handle(self, *args, **options):
        with password_policy_enforced():
            return super().handle(*args, **options)
