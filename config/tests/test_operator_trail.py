"""An operator whose account another operator deletes in the admin stays behind the records of what they
did: the account's owner still sees, in their export, that an operator acted (never who). The record's side
of it is the kernel's (authcore/tests/test_actor_ref.py)."""
from django.test import Client
from django.urls import reverse
import pytest

from authcore.testing import bearer
from sessions_app import services as session_services
from sessions_app.models import Session
from sessions_app.tests.helpers import open_session

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_export_still_says_an_operator_acted_after_the_operators_account_is_deleted(api, make_user):
    alice = make_user("alice@example.com", password=None)
    operator = make_user("operator@example.com", password=None, is_staff=True)
    boss = make_user("boss@example.com", password=None, is_staff=True, is_superuser=True)
    session = open_session(alice).session
    session_services.end_session(session=session, reason=Session.RevokeReason.ENDED_BY_ADMIN, actor=operator)
    admin = Client()
    admin.force_login(boss)

    admin.post(reverse("admin:accounts_user_delete", args=[operator.pk]), {"post": "yes"})

    assert not type(operator).objects.filter(pk=operator.pk).exists()
    exported = api.get("/api/auth/export/", **bearer(open_session(alice).access)).json()
    [ended] = [item for item in exported["security_events"]["items"] if item["session_id"] == str(session.id)]
    assert ended["by_operator"] is True
