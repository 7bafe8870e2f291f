"""`createsuperuser` applies the password policy in every mode: Django's own takes DJANGO_SUPERUSER_PASSWORD
unchecked with --noinput, and offers to bypass the policy when it asks."""
import builtins
import getpass

from django.core.management import CommandError, call_command
import pytest

from accounts.models import User

pytestmark = pytest.mark.django_db
STRONG = "umber kettle drifts sideways"


class TTY:
    def isatty(self) -> bool:
        return True


def test_noinput_refuses_a_weak_password(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "12345")
    with pytest.raises(CommandError, match="too short"):
        call_command("createsuperuser", "--noinput", "--email", "root@example.com", verbosity=0)
    assert not User.objects.exists()


def test_noinput_creates_the_superuser_with_a_good_password(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", STRONG)
    call_command("createsuperuser", "--noinput", "--email", "Root@Example.com", verbosity=0)
    user = User.objects.get()
    assert user.is_superuser and user.check_password(STRONG)


def test_answering_yes_to_django_s_bypass_question_does_not_bypass_the_policy(monkeypatch):
    passwords = iter(["password", "password"])
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(passwords))
    answers = {"Email": "root@example.com", "Bypass": "y"}
    monkeypatch.setattr(builtins, "input", lambda prompt="": next(
        value for key, value in answers.items() if prompt.startswith(key)))
    with pytest.raises(CommandError, match="too common"):
        call_command("createsuperuser", interactive=True, stdin=TTY(), stdout=None, stderr=None)
    assert not User.objects.exists()
