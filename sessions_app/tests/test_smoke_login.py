from .fixtures import bearer, login


def test_login_then_me(api, user):
    tokens = login(api)
    response = api.get("/api/auth/me/", **bearer(tokens["access"]))
    assert response.status_code == 200
    assert response.json()["email"] == "alice@example.com"
