"""`manage.py run_worker`: django-tasks-db's worker, plus Pair-Up's clock."""

import argparse
import math
import os

from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands import db_worker

from notifications.worker import TICK_SECONDS, Clock

# The clock's pause, in seconds: at least a second (0, a negative or nan
# would run it without pause), at most an hour (it prunes hourly, and a
# reminder whose task was lost waits one tick).
TICK_MIN, TICK_MAX = 1, 3600


def tick_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not TICK_MIN <= seconds <= TICK_MAX:  # nan fails both
        raise argparse.ArgumentTypeError(
            f"give the seconds between the clock's runs, {TICK_MIN} to "
            f"{TICK_MAX}; got {value!r}."
        )
    return seconds


class Command(db_worker.Command):
    help = (
        "Run Pair-Up's background work: queued tasks (notification emails, "
        "reminders at their time) and, every --tick seconds, reminders whose "
        "task was lost, stuck emails and the clean-up of notifications older "
        "than 90 days. Safe to run in several processes at once. Takes "
        "db_worker's options too (--interval, --batch, --reload, ...)."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--tick",
            type=tick_seconds,
            default=TICK_SECONDS,
            help=f"Seconds between the clock's runs, {TICK_MIN} to {TICK_MAX} "
            "(default: %(default)s).",
        )

    def handle(self, *args, tick: float, **options):
        reloading = options.get("reload") and not options.get("batch")
        # With --reload the parent process only restarts the child: the
        # clock runs in the child.
        if not reloading or os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
            if options.get("batch"):
                from notifications.worker import tick as run_tick

                run_tick(prune=True)
            else:
                Clock(interval=tick).start()
        return super().handle(*args, **options)
