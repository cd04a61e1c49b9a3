"""The Redis cache shares one client, and its pool, per process."""

import os
import threading

import pytest
from django.core.cache import caches

from pairup.cache import RedisCache

OPTIONS = {"OPTIONS": {"socket_timeout": 5}}


def client_in_a_new_thread(location, params=OPTIONS):
    """What a cache object made in another thread (or async context) uses."""
    found = []
    thread = threading.Thread(
        target=lambda: found.append(RedisCache(location, params)._cache)
    )
    thread.start()
    thread.join()
    return found[0]


def test_cache_objects_of_different_threads_share_one_client():
    first = client_in_a_new_thread("redis://127.0.0.1:6399/0")
    second = client_in_a_new_thread("redis://127.0.0.1:6399/0")

    assert first is second


def test_another_server_or_options_get_a_client_of_their_own():
    first = client_in_a_new_thread("redis://127.0.0.1:6399/0")

    assert client_in_a_new_thread("redis://127.0.0.1:6399/1") is not first
    assert (
        client_in_a_new_thread("redis://127.0.0.1:6399/0", {"OPTIONS": {}}) is not first
    )


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (Redis)")
def test_requests_in_many_contexts_reuse_one_connection_to_redis(settings):
    """Django's own backend opened a connection per thread or async context,
    that is per request under daphne: 20 here."""
    import redis

    from pairup import settings as configured

    settings.CACHES = configured.CACHES  # Redis, as deployed
    stats = redis.Redis.from_url(os.environ["REDIS_URL"])
    before = stats.info("stats")["total_connections_received"]

    def read(key):
        caches["default"].get(key)  # this thread's own cache object

    for n in range(20):
        thread = threading.Thread(target=read, args=[f"k{n}"])
        thread.start()
        thread.join()

    opened = stats.info("stats")["total_connections_received"] - before
    assert opened <= 2  # the one shared connection, and this test's own
