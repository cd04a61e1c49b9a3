"""The health check behind `/healthz`: does the database answer, and Redis
when it is configured?

Each check is bounded by `TIMEOUT` seconds, so a dead or frozen dependency
turns into a quick "fail" rather than a probe that hangs. Failures are
named by their exception class only (the details go to the log).
"""

import logging

from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)

TIMEOUT = 2.0

_redis_clients: dict = {}


def check_database() -> str:
    """Return "ok" when the database runs `SELECT 1`, else the error's class.

    With PostgreSQL's pool, wait at most TIMEOUT for a pooled connection
    (a page request would wait the pool's whole timeout).
    """
    try:
        pool = getattr(connection, "pool", None)
        if pool is not None:
            pool.open()
            with pool.connection(timeout=TIMEOUT) as conn:
                conn.execute("SELECT 1")
        else:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
    except Exception as error:
        logger.warning("health check: the database failed", exc_info=True)
        return type(error).__name__
    return "ok"


def _redis_client(url: str):
    # One client per URL, kept: a probe reuses its connection. Short timeouts
    # and no retries, unlike the cache's and the channel layer's clients.
    client = _redis_clients.get(url)
    if client is None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        client = _redis_clients[url] = redis.Redis.from_url(
            url,
            socket_connect_timeout=TIMEOUT,
            socket_timeout=TIMEOUT,
            retry=Retry(NoBackoff(), 0),
        )
    return client


def check_redis() -> str:
    """Return "ok" when Redis answers PING, "not configured" without
    REDIS_URL, else the error's class.

    The cache and the channel layer share REDIS_URL, so one PING covers both.
    """
    url = settings.REDIS_URL
    if not url:
        return "not configured"
    try:
        _redis_client(url).ping()
    except Exception as error:
        logger.warning("health check: Redis failed", exc_info=True)
        return type(error).__name__
    return "ok"


def report() -> dict:
    """Return the health report: `status` is "ok" or "fail", then each part."""
    parts = {"database": check_database(), "redis": check_redis()}
    healthy = all(value in ("ok", "not configured") for value in parts.values())
    return {"status": "ok" if healthy else "fail", **parts}
