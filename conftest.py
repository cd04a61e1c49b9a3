"""Shared fixtures: personas, fast hashing, and the browser fixtures.

The browser harness itself (Chromium's path and flags, the skip-or-fail
check, live daphne servers) lives in `pairup/tests/browser.py`; this file
only defines the fixtures on top of it. Browser tests run Playwright
against Debian's Chromium and a real daphne process with its own SQLite
file. Playwright's sync API keeps an event loop running in the test thread,
so browser tests never touch the ORM: they set up state through the UI or
through `live_server.manage(...)`. Keep browser tests in modules of their
own (the browser fixture is module-scoped).
"""

import os
import subprocess

import pytest

from pairup.tests.browser import (
    CHROMIUM,
    CHROMIUM_FLAGS,
    IN_CI,
    browser_missing,
    start_live_server,
)


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
    reason = browser_missing()
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


# Browser harness (pairup/tests/browser.py) -------------------------------


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
    reason = browser_missing()
    if reason:
        pytest.fail(f"browser tests need Chromium in CI: {reason}")
    from playwright.sync_api import expect, sync_playwright

    # Playwright's 5 s for an expectation ran out on a machine a parallel
    # run kept busy (a page's script still loading); a pass comes at once.
    expect.set_options(timeout=10_000)
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
