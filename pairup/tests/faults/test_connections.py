"""PostgreSQL's connection limit under page load on two processes (issue 13).

Two daphne processes against a PostgreSQL whose `max_connections` is 40:
300 signed-in page loads from 16 concurrent clients are all served, and the
app's connections stay within its pools' bounds and shrink back when idle.
With persistent connections and no pool, most of these pages were 500s
("remaining connection slots are reserved") and 37 connections stayed open.
"""

import json
import socket
import time

import pytest

from pairup.tests.faults.harness import Sampler, get, load, sessions, wait_for

pytestmark = pytest.mark.faults

PAGES = ["/", "/labs/", "/chat/"]
STUDENTS = [f"100000{n:02d}" for n in range(1, 13)]  # seed_demo's
POOL = "import json; from django.conf import settings; print(json.dumps(settings.DATABASES['default']['OPTIONS'].get('pool')))"
# A short idle time so the shrink is seen within the test.
MAX_IDLE = 2


def test_page_load_on_two_processes_stays_within_the_connection_limit(
    servers, postgres
):
    assert postgres.max_connections() == 40
    one, two = servers.start(2, PAIRUP_DB_POOL_MAX_IDLE=str(MAX_IDLE))
    one.manage("seed_demo", "--force")
    cookies = sessions(one, STUDENTS)
    pool = json.loads(one.shell(POOL)) or {}

    with Sampler(postgres, servers.database) as sampler:
        statuses = load([one, two], paths=PAGES, cookies=cookies, total=300, clients=16)
    time.sleep(30)
    after = postgres.connections(servers.database)
    print(
        f"statuses {dict(statuses)}; connections at peak {sampler.peak}, "
        f"30 s later {dict(after)}; pool {pool}"
    )

    assert statuses == {200: 300}
    bound = 2 * pool["max_size"]
    assert sampler.peak <= bound
    assert sum(after.values()) <= bound
    # Idle connections beyond the pool's minimum close, one per max_idle.
    wait_for(
        lambda: (
            sum(postgres.connections(servers.database).values()) <= 2 * pool["min_size"]
        ),
        timeout=(pool["max_size"] - pool["min_size"]) * MAX_IDLE + 30,
        what=f"idle connections to shrink to 2 x min_size ({pool['min_size']})",
    )


def test_clients_hanging_up_mid_request_leak_no_pooled_connection(servers, postgres):
    """Each request gives its connection back even when its client is gone
    before the answer: with a pool of 2, 20 abandoned board loads leave the
    pages working and 2 connections open."""
    (one,) = servers.start(1, PAIRUP_DB_POOL_MAX="2")
    one.manage("seed_demo", "--force")
    (cookie,) = sessions(one, STUDENTS[:1])
    port = int(one.url.rsplit(":", 1)[1])

    for _ in range(20):
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(
                b"GET /labs/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Cookie: sessionid=" + cookie.encode() + b"\r\n\r\n"
            )
            time.sleep(0.01)

    # The abandoned requests still run to their end; a leaked connection
    # would keep the pool of 2 short for good (every page a 503).
    wait_for(
        lambda: get(one, "/", cookie=cookie)[0] == 200,
        timeout=60,
        what="a page once the abandoned requests are done",
    )
    statuses = load([one], paths=PAGES, cookies=[cookie], total=30, clients=4)
    assert statuses == {200: 30}
    assert sum(postgres.connections(servers.database).values()) <= 2
