from datetime import date, datetime, time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from projects.services import labs_create


def _parse(value: str, option: str, fmt: str, shape: str):
    try:
        return datetime.strptime(value, fmt)  # noqa: DTZ007 (a local wall time)
    except ValueError:
        raise CommandError(f"--{option} {value!r} is not valid: use {shape}.") from None


def parse_date(value: str) -> date:
    return _parse(value, "date", "%Y-%m-%d", "YYYY-MM-DD, e.g. 2026-05-20").date()


def parse_time(value: str, option: str) -> time:
    return _parse(value, option, "%H:%M", "HH:MM (24-hour), e.g. 16:05").time()


class Command(BaseCommand):
    help = (
        "Create lab slots in one room on one day, at local wall time in "
        "TIME_ZONE: a slot every --every minutes (each --duration minutes long, "
        "default the same) from --start, the last one ending by --end. A local "
        "time that doesn't exist (daylight saving gap) is skipped with a "
        "warning; an ambiguous one takes its first occurrence. Slots already "
        "there are left alone; one that would overlap another slot in the room, "
        "or start with a slot of another length, is skipped with a warning. "
        "Slots that have already started are created with a warning."
    )

    def add_arguments(self, parser):
        parser.add_argument("--room", required=True, help='e.g. "CSSE 2.01"')
        parser.add_argument("--date", required=True, help="YYYY-MM-DD, local")
        parser.add_argument("--start", required=True, help="HH:MM, local")
        parser.add_argument("--end", required=True, help="HH:MM, local")
        parser.add_argument("--every", type=int, help="minutes between starts")
        parser.add_argument("--duration", type=int, help="minutes per slot")
        parser.add_argument(
            "--closed",
            action="store_true",
            help="create the slots closed for booking (open them in the admin)",
        )

    def handle(self, *args, **options):
        every, duration = options["every"], options["duration"]
        if every is None and duration is None:
            raise CommandError("Give --every or --duration (minutes).")
        day = parse_date(options["date"])
        start = parse_time(options["start"], "start")
        end = parse_time(options["end"], "end")
        try:
            series = labs_create(
                room=options["room"],
                day=day,
                start=start,
                end=end,
                every=every if every is not None else duration,
                duration=duration,
                is_open=not options["closed"],
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        for warning in series.warnings:
            self.stderr.write(self.style.WARNING(f"Warning: {warning}"))
        now = timezone.now()
        started = sum(1 for lab in series.created if lab.start <= now)
        if started:
            self.stderr.write(
                self.style.WARNING(
                    f"Warning: {started} of the slots created have already "
                    f"started (it is {timezone.localtime(now):%Y-%m-%d %H:%M} in "
                    f"{settings.TIME_ZONE}): nobody can book them. Check --date; "
                    "delete them in the admin if they were a mistake."
                )
            )
        for lab in series.created:
            local_end = timezone.localtime(lab.end)
            self.stdout.write(f"Created {lab}-{local_end:%H:%M}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(series.created)} slot(s) created, {len(series.existing)} "
                f"already there, {len(series.warnings)} skipped "
                f"(times in {settings.TIME_ZONE})."
            )
        )
