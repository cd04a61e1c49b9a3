"""Shared fixtures: personas, fast hashing, and the browser-test harness.

Browser tests run Playwright against Debian's Chromium and a real daphne
process with its own SQLite file. Playwright's sync API keeps an event loop
running in the test thread, so browser tests never touch the ORM: they set up
state through the UI or through `live_server.manage(...)`. Keep browser tests
in modules of their own (the browser fixture is module-scoped).
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

import pytest

BASE_DIR = Path(__file__).resolve().parent
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
DEMO_PASSWORD = "correct-horse-battery-staple"


def _browser_missing() -> str:
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


def pytest_collection_modifyitems(config, items):
    if os.environ.get("PAIRUP_FAULTS") != "1":
        # Fault tests stop PostgreSQL and Redis: only `.ci/faults` runs them.
        skip_faults = pytest.mark.skip(
            reason="fault test: run by `bash .ci/faults` (PAIRUP_FAULTS=1, with "
            "its own PostgreSQL and Redis)"
        )
        for item in items:
            if "faults" in item.keywords:
                item.add_marker(skip_faults)
    reason = _browser_missing()
    if not reason or IN_CI:
        # In CI a missing browser fails the browser fixture, never skips.
        return
    skip = pytest.mark.skip(reason=f"browser test skipped: {reason}")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def _static_files_without_collectstatic():
    """Serve static files from the app folders in this process.

    Tests run with DEBUG off, whose manifest storage needs `collectstatic`;
    in-process tests use the plain storage instead (no collectstatic per
    run). Live servers run the production storage on a collected copy
    (`collected_static_root`), and `pairup/tests/test_static_files.py` checks
    the hashed names in process.
    """
    from django.test import override_settings

    plain = override_settings(
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {
                "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
            },
        },
        WHITENOISE_USE_FINDERS=True,
    )
    plain.enable()
    yield
    plain.disable()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clear_cache():
    """Keep the rate limit and axes' cache state from leaking between tests
    (each test's event loop gets a fresh chat hub and layer listener)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """pytest-django's test database, and at the end, before it is dropped,
    the database connection of asgiref's worker thread closed.

    Async tests reach the database from asgiref's single worker thread; with
    persistent connections (CONN_MAX_AGE) that connection outlives the tests
    and PostgreSQL then refuses to drop the test database.
    """
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    SyncToAsync.single_thread_executor.submit(connections.close_all).result()


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    """Give each test its own channel layer instance.

    Each async test runs its own event loop, and channels_redis's layer keeps
    a receive lock bound to the loop of whoever receives first: a receiver
    left in a finished test's loop would break every later test.
    """
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def _limits_mid_window(monkeypatch):
    """Freeze the clock of the fixed-window limits (pairup/ratelimit.py)
    in the middle of an hour: a test that counts hits must not see its
    window roll over at the top of the hour (or of any 10 s). Tests of the
    windows themselves patch the clock their own way."""
    from types import SimpleNamespace

    monkeypatch.setattr(
        "pairup.ratelimit.time", SimpleNamespace(time=lambda: 3600 * 500_000 + 1800)
    )


@pytest.fixture
def shared_layer(monkeypatch):
    """Run the in-memory channel layer as if it were shared (Redis): the
    listener joins groups and reads the layer, and chat presence goes
    through the cache, so the several-process path runs in one process."""
    import pairup.layer

    class NoSuchLayer:
        pass

    monkeypatch.setattr(pairup.layer, "InMemoryChannelLayer", NoSuchLayer)


# Personas ---------------------------------------------------------------


@pytest.fixture
def make_student(db):
    from accounts.tests.factories import StudentFactory

    return StudentFactory


@pytest.fixture
def alice(db):
    from accounts.tests.factories import StudentFactory

    return StudentFactory(username="20000001", first_name="Alice", last_name="Able")


@pytest.fixture
def bob(db):
    from accounts.tests.factories import StudentFactory

    return StudentFactory(username="20000002", first_name="Bob", last_name="Baker")


@pytest.fixture
def charlie(db):
    from accounts.tests.factories import StudentFactory

    return StudentFactory(username="20000003", first_name="Charlie", last_name="Clark")


@pytest.fixture
def dana(db):
    from accounts.tests.factories import CoordinatorFactory

    return CoordinatorFactory(username="dana", first_name="Dana", last_name="Dean")


@pytest.fixture
def team(alice, bob):
    """Alice's project with Bob as her partner, built through the services."""
    from projects.tests.factories import make_team

    return make_team(alice, bob, description="A robot that sorts lab kits")


# Browser harness --------------------------------------------------------


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


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    server = start_live_server(tmp_path_factory.mktemp("live"))
    yield server
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(autouse=True)
def _live_server_helper():
    """Replace pytest-django's autouse helper of the same name.

    It sees a fixture called `live_server` and sets up the test database for
    it, inside Playwright's event loop, which Django refuses. This live server
    is a daphne process with its own database: the test needs neither.
    """
    yield


@pytest.fixture(scope="module")
def browser():
    reason = _browser_missing()
    if reason:
        pytest.fail(f"browser tests need Chromium in CI: {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser, live_server):
    """Open pages in fresh browser contexts (one per simulated user)."""
    contexts = []

    def open_page():
        context = browser.new_context(base_url=live_server.url)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()
