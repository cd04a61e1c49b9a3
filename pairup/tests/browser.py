"""The browser-test harness: Debian's Chromium, and live servers.

Browser tests run Playwright against Debian's Chromium (`CHROMIUM`, launched
with `CHROMIUM_FLAGS`; never `playwright install`) and a real daphne process
with its own database (`start_live_server`, also used by the fault tests in
`pairup/tests/faults/` and by the tests that need a second server). Without
Chromium, browser tests skip with how to install it (`browser_missing`);
with `CI=true` they fail instead. The fixtures (`live_server`, `browser`,
`new_page`, `page`) are defined in the root `conftest.py` from these parts.
"""

import atexit
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("PAIRUP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
IN_CI = os.environ.get("CI", "").lower() == "true"


def browser_missing() -> str:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (make test installs it)"
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return (
            f"no Chromium at {CHROMIUM}: install Debian's with "
            "`sudo apt-get update && sudo apt-get install -y chromium` "
            "(or point PAIRUP_CHROMIUM at one)"
        )
    return ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    env: dict
    process: subprocess.Popen
    log: Path

    def manage(self, *args: str) -> str:
        """Run a manage.py command against the server's database."""
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(
                f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
            )
        return result.stdout

    def shell(self, code: str) -> str:
        """Run Python in `manage.py shell` against the server's database."""
        return self.manage("shell", "--no-imports", "-c", code)


def live_database_url(workdir: Path) -> str:
    """Return a database of its own for a server subprocess.

    SQLite: a file in `workdir`. PostgreSQL (DATABASE_URL set): a fresh
    database on the same server, named after `workdir`.
    """
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{workdir / 'live.sqlite3'}"
    import psycopg

    # Named after the whole path: a nested pytest run (the browser-harness
    # tests) has its own basetemp but the same "live0" folder name.
    digest = hashlib.sha256(str(workdir).encode()).hexdigest()[:12]
    label = "".join(ch for ch in workdir.name if ch.isalnum()).lower()[:20]
    name = f"pairup_live_{label}_{digest}"
    base, _, _ = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"


_collected: list[Path] = []


def collected_static_root() -> Path:
    """Return a folder `collectstatic` filled with the production storage
    (hashed names and their manifest), collected once per test session."""
    if not _collected:
        root = Path(tempfile.mkdtemp(prefix="pairup-static-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        env = {
            **os.environ,
            "DJANGO_DEBUG": "False",
            "DJANGO_SECRET_KEY": "collectstatic-only-secret-key-0123456789abcdefghijklmn",
            "DJANGO_STATIC_ROOT": str(root),
        }
        env.pop("DJANGO_SETTINGS_MODULE", None)
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
            cwd=BASE_DIR,
            env=env,
            check=True,
            timeout=300,
        )
        _collected.append(root)
    return _collected[0]


def start_live_server(workdir: Path, extra_env: dict | None = None) -> LiveServer:
    env = {
        **os.environ,
        "DATABASE_URL": live_database_url(workdir),
        "DJANGO_STATIC_ROOT": str(collected_static_root()),
        "DJANGO_DEBUG": "False",
        "DJANGO_SECRET_KEY": "live-server-secret-key-for-browser-tests-0123456789abcdef",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=BASE_DIR,
        env=env,
        check=True,
        timeout=120,
    )
    port = free_port()
    log = workdir / "daphne.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "pairup.asgi:application",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(
                    f"daphne did not start:\n{log.read_text()}"
                ) from None
            time.sleep(0.1)
    return LiveServer(url=f"http://127.0.0.1:{port}", env=env, process=process, log=log)
