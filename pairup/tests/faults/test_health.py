"""`/healthz` on a real process while Redis or PostgreSQL is away (issue 13),
and what a signed-in user sees meanwhile."""

import json

import pytest

from pairup.tests.faults.harness import get, sessions, wait_for

pytestmark = pytest.mark.faults

HEALTHY = {"status": "ok", "database": "ok", "redis": "ok"}


def health(server) -> tuple[int, dict]:
    status, headers, body = get(server, "/healthz", timeout=15)
    assert headers["Content-Type"] == "application/json"
    return status, json.loads(body)


def healthy(server) -> bool:
    return health(server) == (200, HEALTHY)


def test_healthz_names_redis_while_it_is_stopped_and_recovers(servers, redis):
    (one,) = servers.start(1)
    assert health(one) == (200, HEALTHY)

    redis.stop()

    assert health(one) == (
        503,
        {"status": "fail", "database": "ok", "redis": "ConnectionError"},
    )

    redis.start()

    wait_for(lambda: healthy(one), timeout=15, what="/healthz to answer 200 again")


def test_healthz_gives_up_on_a_frozen_redis_instead_of_hanging(servers, redis):
    (one,) = servers.start(1)
    assert health(one) == (200, HEALTHY)

    redis.pause()  # SIGSTOP: the connection stays open, nothing answers

    assert health(one) == (
        503,
        {"status": "fail", "database": "ok", "redis": "TimeoutError"},
    )

    redis.resume()

    wait_for(lambda: healthy(one), timeout=15, what="/healthz to answer 200 again")


def test_while_postgresql_is_down_healthz_names_it_and_pages_ask_to_retry(
    servers, postgres
):
    (one,) = servers.start(1, PAIRUP_DB_POOL_TIMEOUT="2")
    one.manage("seed_demo", "--force")
    (cookie,) = sessions(one, ["10000001"])
    assert health(one) == (200, HEALTHY)
    assert get(one, "/", cookie=cookie)[0] == 200

    postgres.stop()

    status, report = health(one)
    assert status == 503
    assert report == {"status": "fail", "database": "PoolTimeout", "redis": "ok"}
    status, headers, body = get(one, "/", cookie=cookie)
    assert status == 503
    assert headers["Retry-After"] == "5"
    assert b"Pair-Up is busy right now" in body

    postgres.start()

    wait_for(lambda: healthy(one), timeout=60, what="/healthz to answer 200 again")
    assert get(one, "/", cookie=cookie)[0] == 200
