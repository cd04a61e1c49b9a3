"""Helpers for notification tests: commit callbacks, and the worker's loop
run in-process (the database task backend, as in production)."""

from unittest import mock

import pytest
from django.core import mail
from django_tasks_db.management.commands import db_worker
from django_tasks_db.management.commands.db_worker import Worker

from notifications.models import Notification


def run_worker(worker_id: str = "test-worker", *, in_test_transaction=True) -> None:
    """Run every ready task with django-tasks-db's own worker loop, then stop.

    Inside a test's transaction the loop must not close the connection
    (Django's test client skips that step the same way).
    """
    if in_test_transaction:
        with mock.patch.object(db_worker, "close_old_connections", lambda: None):
            run_worker(worker_id, in_test_transaction=False)
        return
    Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    ).run()


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a callable as if its transaction committed (notify's callbacks
    run), then the worker (the emails go out)."""

    def run(action, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            result = action(*args, **kwargs)
        run_worker()
        return result

    return run


def told(user) -> list[Notification]:
    return list(Notification.objects.filter(user=user).order_by("pk"))


def mailed(user) -> list:
    return [message for message in mail.outbox if user.email in message.to]


@pytest.fixture(autouse=True)
def _site_url(settings):
    """Mailed links and feed addresses start with the configured site."""
    settings.PAIRUP_SITE_URL = "http://127.0.0.1:8000"
