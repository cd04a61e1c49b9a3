"""The fault-test harness: real daphne processes on the fault job's own
PostgreSQL and Redis, and the means to break them.

`.ci/faults` starts a PostgreSQL (`max_connections = 40`) and a Redis that
the tests may stop, and exports where they are (the variables are listed at
the top of that script). Tests marked `faults` are skipped unless
`PAIRUP_FAULTS=1`; run them with `bash .ci/faults` (as root: it starts
PostgreSQL as the postgres user).

How to write one (the fixtures live in this package's `conftest.py`):

    pytestmark = pytest.mark.faults

    def test_something_survives(servers, redis, postgres):
        one, two = servers.start(2)                # daphne x2, one database, Redis
        one.manage("seed_demo", "--force")         # data, through manage.py
        keys = sessions(one, ["10000001"])         # signed-in session cookies
        redis.stop()                               # or .pause() / .resume() / .start()
        servers.kill(two)                          # kill -9
        postgres.connections(servers.database)     # {"idle": 3, "active": 1}

Servers are plain subprocesses (`pairup.tests.browser.start_live_server`): talk to them
over HTTP (`get`, `load`) or WebSockets (`server.url`), and set their
environment with `servers.start(n, PAIRUP_SOMETHING="1")`. Everything a
fixture started or stopped is put back when the test ends, so a test may
leave Redis stopped or a process killed.
"""

import http.client
import json
import os
import shlex
import signal
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from pairup.tests.browser import LiveServer, start_live_server

HOST = "127.0.0.1"


def _psycopg():
    """psycopg comes with the `postgres` extra, which `.ci/faults` installs;
    `make test` collects these tests (and skips them) without it."""
    import psycopg

    return psycopg


def required_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(
            f"{name} is not set: fault tests run inside `bash .ci/faults`, "
            "which starts their PostgreSQL and Redis and exports it"
        )
    return value


def wait_for(predicate, *, timeout: float, interval: float = 0.2, what: str):
    """Poll `predicate` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:g} s waiting for {what}")
        time.sleep(interval)


@dataclass
class Postgres:
    """The fault job's PostgreSQL, through its superuser."""

    admin_url: str
    stop_command: str
    start_command: str
    stopped: bool = False

    @classmethod
    def from_env(cls) -> "Postgres":
        return cls(
            admin_url=required_env("PAIRUP_FAULTS_PG_ADMIN_URL"),
            stop_command=required_env("PAIRUP_FAULTS_PG_STOP"),
            start_command=required_env("PAIRUP_FAULTS_PG_START"),
        )

    def connections(self, database: str) -> Counter:
        """Return the client connections to `database`, counted by state
        (`idle`, `active`, `idle in transaction`, ...)."""
        with _psycopg().connect(self.admin_url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT coalesce(state, 'unknown'), count(*) FROM pg_stat_activity"
                " WHERE datname = %s AND backend_type = 'client backend'"
                " GROUP BY 1",
                [database],
            ).fetchall()
        return Counter(dict(rows))

    def max_connections(self) -> int:
        with _psycopg().connect(self.admin_url, autocommit=True) as conn:
            return int(conn.execute("SHOW max_connections").fetchone()[0])

    def stop(self) -> None:
        """Stop the server (fast shutdown: every connection is cut)."""
        subprocess.run(self.stop_command, shell=True, check=True, timeout=60)  # noqa: S602 (the job's own command)
        self.stopped = True

    def start(self) -> None:
        subprocess.run(self.start_command, shell=True, check=True, timeout=60)  # noqa: S602
        self.stopped = False
        wait_for(self._answers, timeout=30, what="PostgreSQL to accept connections")

    def _answers(self) -> bool:
        psycopg = _psycopg()
        try:
            psycopg.connect(self.admin_url, connect_timeout=2).close()
        except psycopg.OperationalError:
            return False
        return True


@dataclass
class Redis:
    """The fault job's Redis: stop and start it again, or freeze it."""

    port: int
    pidfile: Path
    start_command: str
    state: str = "running"  # or "stopped", "paused"

    @classmethod
    def from_env(cls) -> "Redis":
        return cls(
            port=int(required_env("PAIRUP_FAULTS_REDIS_PORT")),
            pidfile=Path(required_env("PAIRUP_FAULTS_REDIS_PIDFILE")),
            start_command=required_env("PAIRUP_FAULTS_REDIS_START"),
        )

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["redis-cli", "-h", HOST, "-p", str(self.port), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )

    def answers(self) -> bool:
        return self.cli("ping").stdout.strip() == "PONG"

    def stop(self) -> None:
        """Shut Redis down without saving (as a restart or a crash would)."""
        self.cli("shutdown", "nosave")
        wait_for(
            lambda: not self.pidfile.exists() and not self.answers(),
            timeout=10,
            what="Redis to stop",
        )
        self.state = "stopped"

    def start(self) -> None:
        """Start Redis again with the command line the job started it with."""
        subprocess.run(shlex.split(self.start_command), check=True, timeout=30)
        wait_for(self.answers, timeout=10, what="Redis to answer PING")
        self.state = "running"

    def pause(self) -> None:
        """Freeze Redis (SIGSTOP): connections stay open, nothing answers."""
        os.kill(int(self.pidfile.read_text()), signal.SIGSTOP)
        self.state = "paused"

    def resume(self) -> None:
        os.kill(int(self.pidfile.read_text()), signal.SIGCONT)
        self.state = "running"

    def restore(self) -> None:
        """Put Redis back running, whatever a test left it in."""
        if self.state == "paused":
            self.resume()
        elif self.state == "stopped":
            self.start()


@dataclass
class Servers:
    """N daphne processes on one fresh database of the job's PostgreSQL and
    one Redis, as the README's scale-out section runs them."""

    workdir: Path
    redis_url: str = ""
    running: list[LiveServer] = field(default_factory=list)
    database_url: str = ""

    @property
    def database(self) -> str:
        """The name of the servers' database (for `Postgres.connections`)."""
        return urlsplit(self.database_url).path.lstrip("/")

    def start(self, n: int, **env: str) -> list[LiveServer]:
        started = []
        for _ in range(n):
            index = len(self.running)
            folder = self.workdir / f"server{index}"
            folder.mkdir()
            extra = {"REDIS_URL": self.redis_url, **env}
            if self.database_url:
                extra["DATABASE_URL"] = self.database_url
            server = start_live_server(folder, extra)
            self.database_url = server.env["DATABASE_URL"]
            self.running.append(server)
            started.append(server)
        return started

    def kill(self, server: LiveServer) -> None:
        """`kill -9` one process: no cleanup of its sockets or presence."""
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=10)

    def stop_all(self) -> None:
        for server in self.running:
            if server.process.poll() is None:
                server.process.terminate()
        for server in self.running:
            try:
                server.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(
            f"--- {server.url} ({server.log})\n{server.log.read_text()[-4000:]}"
            for server in self.running
        )


SESSIONS = """
import json
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
keys = []
for user in get_user_model().objects.filter(username__in={numbers!r}):
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    keys.append(session.session_key)
print(json.dumps(keys))
"""


def sessions(server: LiveServer, numbers: list[str]) -> list[str]:
    """Return a signed-in session key for each existing user in `numbers`
    (made directly: no sign-in form, no password hashing)."""
    keys = json.loads(server.shell(SESSIONS.format(numbers=list(numbers))))
    assert len(keys) == len(numbers), f"only {len(keys)} of {numbers} exist"
    return keys


def get(server: LiveServer, path: str, *, cookie: str = "", timeout: float = 30):
    """GET `path` from one server; return (status, headers, body)."""
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        headers = {"Connection": "close"}
        if cookie:
            headers["Cookie"] = f"sessionid={cookie}"
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def load(
    servers: list[LiveServer],
    *,
    paths: list[str],
    cookies: list[str],
    total: int,
    clients: int,
) -> Counter:
    """Load `total` pages from `clients` concurrent clients, spread over the
    servers as a proxy would (client i talks to server i mod N, as user i
    mod len(cookies)). Return the statuses counted (a failed connection
    counts as its exception's name)."""
    statuses: Counter = Counter()
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def client(i: int) -> None:
        server = servers[i % len(servers)]
        cookie = cookies[i % len(cookies)]
        start.wait()
        for n in range(i, total, clients):
            try:
                status, _, _ = get(server, paths[n % len(paths)], cookie=cookie)
            except OSError as error:
                status = type(error).__name__
            with lock:
                statuses[status] += 1

    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(client, i) for i in range(clients)]:
            future.result()
    return statuses


class Sampler:
    """Count a database's connections every `interval` seconds in a thread,
    keeping the highest total seen."""

    def __init__(self, postgres: Postgres, database: str, interval: float = 0.1):
        self.postgres, self.database, self.interval = postgres, database, interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            total = sum(self.postgres.connections(self.database).values())
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval)

    def __enter__(self) -> "Sampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
