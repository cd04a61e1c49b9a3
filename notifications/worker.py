"""The worker's clock: what runs every so often beside the queued tasks.

Queued tasks (emails, reminders and the ballot at their time) are the
worker's main work; the clock catches what a task can't: reminders whose
task was lost (a crash between claiming and running it), emails stuck the
same way, a ballot past its closing time that hasn't run, and the daily
clean-up. Every step is safe to run in several workers at once.
"""

import logging
import threading
from datetime import timedelta

from django.db import close_old_connections
from django.utils import timezone

from notifications import mail, reminders, services

logger = logging.getLogger(__name__)

TICK_SECONDS = 30.0
PRUNE_EVERY = timedelta(hours=1)
TASK_RESULTS_KEEP = timedelta(days=14)


def prune_task_results(*, now=None) -> int:
    """Delete finished task records older than two weeks."""
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    deleted, _ = (
        DBTaskResult.objects.finished()
        .filter(finished_at__lt=now - TASK_RESULTS_KEEP)
        .delete()
    )
    return deleted


def tick(*, now=None, prune: bool = False) -> dict:
    """Run the clock's work once; return what it did."""
    from projects.ballot_services import ballot_run_when_due

    now = now or timezone.now()
    run = ballot_run_when_due(now=now)  # a ballot past its closing time
    done = {
        "reminders": reminders.send_due_reminders(now=now),
        "emails_requeued": mail.requeue_stale(now=now),
        "ballot_run": run.pk if run is not None else None,
    }
    if prune:
        done["notifications_pruned"] = services.prune(now=now)
        done["task_results_pruned"] = prune_task_results(now=now)
    return done


class Clock(threading.Thread):
    """Run `tick` every `interval` seconds until stopped (a daemon thread)."""

    def __init__(self, interval: float = TICK_SECONDS):
        super().__init__(name="pairup-clock", daemon=True)
        self.interval = interval
        self.stopped = threading.Event()
        self.last_prune = None

    def run(self) -> None:
        while not self.stopped.is_set():
            now = timezone.now()
            prune = self.last_prune is None or now - self.last_prune >= PRUNE_EVERY
            try:
                close_old_connections()
                tick(now=now, prune=prune)
                if prune:
                    self.last_prune = now
            except Exception:
                logger.exception("the worker's clock failed; trying again")
            finally:
                close_old_connections()
            self.stopped.wait(self.interval)

    def stop(self) -> None:
        self.stopped.set()
