"""`manage.py run_ballot`: the ballot from the command line."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from projects import ballot_services
from projects.ballot_views import run_text
from projects.models import BallotRun


class Command(BaseCommand):
    help = (
        "Run the ballot now (it books the slots it gives and tells every team; "
        "once per ballot), or show what it would do with --dry-run (nothing "
        "booked), or solve a past run again from its stored rankings and seed "
        "with --replay RUN_ID and say whether the allocation is the same. "
        "Without these, the clock runs the ballot at its closing time."
    )

    def add_arguments(self, parser):
        what = parser.add_mutually_exclusive_group()
        what.add_argument(
            "--dry-run", action="store_true", help="show the outcome, book nothing"
        )
        what.add_argument(
            "--replay", type=int, metavar="RUN_ID", help="re-solve a stored run"
        )

    def handle(self, *args, dry_run: bool, replay: int | None, **options):
        if replay is not None:
            self.replay(replay)
            return
        try:
            if dry_run:
                run = ballot_services.ballot_dry_run(trigger=BallotRun.Trigger.COMMAND)
            else:
                run = ballot_services.ballot_run(trigger=BallotRun.Trigger.COMMAND)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(self.style.SUCCESS(run_text(run)))
        self.stdout.write(
            f"Run {run.pk}: seed {run.seed}, {run.slots} slots, solved in "
            f"{run.solve_ms} ms."
        )

    def replay(self, run_id: int) -> None:
        run = BallotRun.objects.filter(pk=run_id).first()
        if run is None:
            raise CommandError(f"No ballot run {run_id}.")
        again = ballot_services.ballot_replay(run)
        booked = [entry[:3] for entry in run.allocation]
        skipped = [entry[:3] for entry in run.skipped]
        if again == sorted(booked + skipped):
            self.stdout.write(
                self.style.SUCCESS(
                    f"Run {run.pk} replays to the same allocation "
                    f"({len(again)} teams placed, seed {run.seed})."
                )
            )
            return
        raise CommandError(
            f"Run {run.pk} replays to a different allocation: {again} "
            f"instead of {sorted(booked + skipped)}."
        )
