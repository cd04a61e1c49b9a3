from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from chat.services import rooms_prune

# A century: any longer reaches back before datetime's year 1.
MAX_DAYS = 36500


class Command(BaseCommand):
    help = (
        "Delete public rooms that have no messages and that nobody joined for "
        "--days days (default 120, about a term). Never the lobby, never a "
        "team room. --dry-run lists them and deletes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, default=120, help="not joined for this many days"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="list the rooms, delete nothing"
        )

    def handle(self, *args, **options):
        days, dry_run = options["days"], options["dry_run"]
        if days < 1:
            raise CommandError("--days must be at least 1.")
        if days > MAX_DAYS:
            raise CommandError(f"--days must be at most {MAX_DAYS} (a century).")
        rooms = rooms_prune(days=days, dry_run=dry_run)
        verb = "Would delete" if dry_run else "Deleted"
        self.stdout.write(
            f"{verb} {len(rooms)} empty room(s) not joined for {days} "
            f"day{'s' if days != 1 else ''}."
        )
        for room in rooms:
            last = timezone.localtime(room.last_joined_at)
            self.stdout.write(
                f"  {room.slug} ({room.name}), last joined {last:%Y-%m-%d %H:%M}"
            )
