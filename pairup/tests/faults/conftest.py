"""Fixtures of the fault tests (see `harness.py` for how to use them)."""

import pytest

from pairup.tests.faults.harness import Postgres, Redis, Servers


@pytest.fixture
def postgres():
    """The job's PostgreSQL; started again after the test if it stopped it."""
    server = Postgres.from_env()
    yield server
    if server.stopped:
        server.start()


@pytest.fixture
def redis():
    """The job's Redis, emptied; running again after the test, whatever the
    test did to it."""
    server = Redis.from_env()
    server.restore()
    server.cli("flushall")
    yield server
    server.restore()


@pytest.fixture
def servers(tmp_path, redis, request):
    """Start daphne processes with `servers.start(n, **env)`; all stop at the
    end, and a failing test prints their logs."""
    group = Servers(workdir=tmp_path, redis_url=redis.url)
    yield group
    group.stop_all()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(group.logs())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.rep_call = report
    return report
