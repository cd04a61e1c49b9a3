import io
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from projects import exports
from projects.csv_utils import BOM


class Command(BaseCommand):
    help = (
        "Write a CSV of every team: members' numbers, names and emails, and the "
        "slot's room, date, start and end in local time (TIME_ZONE), and how "
        "it was booked (the coordinator page's teams file). Cells a "
        "spreadsheet would run as formulas are neutralised; a file written "
        "with --output starts with a UTF-8 BOM so spreadsheets read it right."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", help="write to this file, not stdout")

    def handle(self, *args, **options):
        export = exports.allocations()
        buffer = io.StringIO()
        export.write(buffer)
        text = buffer.getvalue()
        output = options["output"]
        if not output:
            self.stdout.write(text, ending="")
            return
        try:
            Path(output).write_text(BOM + text, encoding="utf-8", newline="")
        except OSError as error:
            raise CommandError(
                f"Can't write {output}: {error.strerror or error}."
            ) from None
        self.stdout.write(
            self.style.SUCCESS(f"Wrote {len(export.rows)} team(s) to {output}."),
        )
