"""Database and cache backends that keep Django's behaviour and cost fewer round trips on the hot paths.

Both are opt-in by dotted path (the project's settings choose them): `authcore.backends.postgresql` as a
database ENGINE, `authcore.backends.redis_cache.RedisCache` as a cache BACKEND. Code on a hot path runs its fixed
statements through `fetch_one_prepared(connection, ...)`, which is an ordinary query on any other backend.
"""


def fetch_one_prepared(connection, sql: str, params):
    """The first row of a fixed statement, prepared once per connection where the backend can
    (authcore.backends.postgresql); otherwise run as an ordinary query."""
    fetch = getattr(connection, "fetch_one_prepared", None)
    if fetch is not None:
        return fetch(sql, params)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()
