"""PostgreSQL's connection limit under page load on two processes (issue 13).

Two daphne processes against a PostgreSQL whose `max_connections` is 40:
300 signed-in page loads from 16 concurrent clients are all served, and the
app's connections stay within its pools' bounds and shrink back when idle.
With persistent connections and no pool, most of these pages were 500s
("remaining connection slots are reserved") and 37 connections stayed open.
"""

import json
import time

import pytest

from pairup.tests.faults.harness import Sampler, load, sessions, wait_for

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
