"""Background work, through Django's Tasks framework.

`django.tasks` on Django 6, the django-tasks backport on 5.2; the database
backend (django-tasks-db) keeps the queue in the site's database, so the
embedded default needs no other service. `manage.py run_worker` runs them.
"""

try:
    from django.tasks import task
except ImportError:  # Django 5.2: the backport
    from django_tasks import task


@task()
def send_emails(delivery_ids: list[int]) -> dict:
    """Send these notification emails (retrying failures later)."""
    from notifications import mail

    return mail.send(delivery_ids)


@task()
def send_due_reminders() -> int:
    """Send every reminder that is due (queued for each reminder's time)."""
    from notifications import reminders

    return reminders.send_due_reminders()
