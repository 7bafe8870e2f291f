"""Django's Redis cache with an increment that is one atomic round trip, and one client per server.

Django's `incr` asks `EXISTS` and then sends `INCRBY`: two round trips, and not atomic. A counter that
expires between the two is recreated by `INCRBY` with no expiry, so it would never go away.
django-ratelimit counts every request with `add` and then `incr`, so the limits pay for it on every
login and refresh. Here `incr` is one Lua script (run by hash, EVALSHA): it increments only a key that
exists, keeps that key's expiry, and raises ValueError for a missing key as Django's does.

Django also builds a new redis-py client object for every command, which sets up its table of some
two hundred reply parsers each time (about 0.2 ms). A client only wraps its connection pool and is safe
to share between threads, so one per server is kept.
"""
from django.core.cache.backends import redis

INCREMENT_EXISTING = """
if redis.call('EXISTS', KEYS[1]) == 1 then
    return redis.call('INCRBY', KEYS[1], ARGV[1])
end
return false
"""


class RedisCacheClient(redis.RedisCacheClient):
    _increment = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}  # connection pool -> client

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)
        return client

    def incr(self, key, delta):
        client = self.get_client(key, write=True)
        if self._increment is None:
            # A Script sends EVALSHA and falls back to EVAL (loading it) when the server does not know it.
            self._increment = client.register_script(INCREMENT_EXISTING)
        value = self._increment(keys=[key], args=[delta], client=client)
        if value is None:
            raise ValueError(f"Key '{key}' not found.")
        return value


class RedisCache(redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
