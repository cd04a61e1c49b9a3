"""Django's Redis cache with one connection pool per process.

Django keeps a cache object per thread and per async context, and each
object builds its own redis-py client and pool. Under daphne every request
runs in a context of its own, so every request that touched the cache (the
board's version, the rate limits) opened a new connection to Redis and
dropped it: 1,860 connections for two runs of the opening-night rush's (d),
and a TCP connect on the request's path each time. Here the objects share
one client, and its pool, per set of servers and options, as redis-py's
pool is meant to be shared (it is thread-safe and reconnects after a
restart; `REDIS_RETRY` in settings).
"""

import threading

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.utils.functional import cached_property

_clients: dict = {}
_lock = threading.Lock()


class RedisCache(DjangoRedisCache):
    @cached_property
    def _cache(self):
        key = (tuple(self._servers), repr(sorted(self._options.items())))
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = self._class(self._servers, **self._options)
        return client
