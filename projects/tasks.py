"""Background work of the projects app (Django's Tasks framework; see
notifications/tasks.py for the backend)."""

try:
    from django.tasks import task
except ImportError:  # Django 5.2: the backport
    from django_tasks import task


@task()
def run_ballot() -> int | None:
    """Run the ballot if its closing time has passed and it hasn't run
    (queued for the closing time); return the run's id, or None."""
    from projects.ballot_services import ballot_run_if_due

    run = ballot_run_if_due()
    return run.pk if run is not None else None
