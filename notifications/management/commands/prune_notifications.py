from django.core.management.base import BaseCommand

from notifications.services import KEEP_DAYS, prune
from notifications.worker import prune_task_results


class Command(BaseCommand):
    help = (
        f"Delete notifications and their emails older than {KEEP_DAYS} days, and "
        "finished background-task records older than 14 days. The worker "
        "(run_worker) does this every hour; run it from cron when no worker runs."
    )

    def handle(self, *args, **options):
        notifications = prune()
        tasks = prune_task_results()
        self.stdout.write(
            f"Deleted {notifications} notification(s) and {tasks} task record(s)."
        )
