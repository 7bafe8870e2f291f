"""Database and cache backends that keep Django's behaviour and cost fewer round trips on the hot paths.

Both are opt-in by dotted path (the project's settings choose them): `authcore.backends.postgresql` as a
database ENGINE, `authcore.backends.redis_cache.RedisCache` as a cache BACKEND. Code on a hot path asks for
`prepared_cursor(connection)`, which is an ordinary cursor on any other backend.
"""


def prepared_cursor(connection):
    """A cursor whose statements the database prepares once per connection, where the backend offers one
    (authcore.backends.postgresql); otherwise the connection's ordinary cursor."""
    factory = getattr(connection, "prepared_cursor", None)
    return factory() if factory is not None else connection.cursor()
