import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from .fixtures import login, bearer

@pytest.mark.django_db(transaction=True)
def test_probe(api, make_user):
    make_user()
    t = login(api)
    with CaptureQueriesContext(connection) as ctx:
        r = api.post("/api/auth/refresh/", {"refresh": t["refresh"]})
    assert r.status_code == 200
    for q in ctx.captured_queries:
        print(q["sql"][:150])
    with CaptureQueriesContext(connection) as ctx:
        r = api.get("/api/auth/me/", **bearer(r.json()["access"]))
    for q in ctx.captured_queries:
        print(q["sql"][:300])
    import jwt
    print(jwt.get_unverified_header(t["access"]), jwt.decode(t["access"], options={"verify_signature": False}))
    print(t)
