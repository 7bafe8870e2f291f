"""Test helpers: connecting a user to the provider through the real flow."""
from urllib.parse import parse_qs, urlsplit

from authcore.testing import bearer
from connections.models import Connection
from sessions_app.tests.helpers import open_session


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def start(api, user, provider: str = "demo"):
    """POST connect/ as `user`; the response (with the browser-binding cookie, if any, in api.cookies)."""
    return api.post(f"/api/connections/{provider}/connect/", **bearer(open_session(user).access))


def authorized_redirect(api, user, oauth_provider, *, approve: bool = True) -> dict[str, str]:
    """Start as `user`, let the provider's resource owner approve (or deny), and return the query the
    provider redirected back with (code and state, or error and state)."""
    response = start(api, user)
    assert response.status_code == 200, response.content
    return query_of(oauth_provider.authorize(response.json()["authorization_url"], approve=approve))


def complete(api, user, answer: dict, provider: str = "demo"):
    return api.post(f"/api/connections/{provider}/callback/", answer, format="json",
                    **bearer(open_session(user).access))


def connect(api, user, oauth_provider) -> Connection:
    """The whole flow through the API; the stored connection."""
    response = complete(api, user, authorized_redirect(api, user, oauth_provider))
    assert response.status_code == 200, response.content
    return Connection.objects.get(user=user, provider="demo")
