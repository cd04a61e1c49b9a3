from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.roster import (
    CREATED,
    ROSTER_COLUMNS,
    UPDATED,
    RosterUnreadable,
    roster_read,
    student_import_row,
)

EXIT_REJECTED = 1
EXIT_UNREADABLE = 2
EXIT_INTERRUPTED = 130  # the shell's status for a command stopped by Ctrl-C


class Command(BaseCommand):
    help = (
        "Import the roster: a CSV file (UTF-8, with or without BOM) with the "
        f"header {', '.join(ROSTER_COLUMNS)}. Creates or updates students by "
        "number, never touching a password or a preferred name the student "
        "set; new accounts get an unusable password (students use 'Set or "
        "reset your password'). Each row commits on its own. Exit status: 0 "
        "all rows imported, 1 some rejected (the good ones are kept), 2 the "
        "file can't be read, 130 stopped by Ctrl-C (the rows before the "
        "line it names are kept; run it again to finish)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="path to the roster CSV file")

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            rows = roster_read(path.read_bytes())
        except OSError as error:
            raise CommandError(
                f"Can't read {path}: {error.strerror or error}.",
                returncode=EXIT_UNREADABLE,
            ) from None
        except RosterUnreadable as error:
            raise CommandError(
                f"Can't import {path}: {error}", returncode=EXIT_UNREADABLE
            ) from None

        counts = {CREATED: 0, UPDATED: 0, "unchanged": 0}
        rejected = []
        first_line = {}
        interrupted_at = None
        try:
            for row in rows:
                interrupted_at = row.line
                self._import(row, counts, rejected, first_line)
            interrupted_at = None
        except KeyboardInterrupt:
            # Ctrl-C: the rows before this one are committed, the ones after
            # it untouched; this one committed or rolled back whole.
            pass

        for line, reason in rejected:
            self.stdout.write(f"Line {line}: rejected: {reason}.")
        summary = (
            f"{counts[CREATED]} created, {counts[UPDATED]} updated, "
            f"{counts['unchanged']} unchanged, {len(rejected)} rejected."
        )
        if interrupted_at is not None:
            self.stdout.write(self.style.WARNING(summary))
            raise CommandError(
                f"Interrupted at line {interrupted_at}: the rows before it were "
                "imported, none after it (that line itself may have been). Run "
                "the same file again to finish: rows already in show as unchanged.",
                returncode=EXIT_INTERRUPTED,
            )
        if rejected:
            self.stdout.write(self.style.WARNING(summary))
            if any(counts.values()):
                message = (
                    f"{len(rejected)} row(s) rejected; the other rows were imported."
                )
            else:
                message = (
                    f"All {len(rejected)} row(s) were rejected; nothing was imported."
                )
            raise CommandError(message, returncode=EXIT_REJECTED)
        self.stdout.write(self.style.SUCCESS(summary))

    def _import(self, row, counts, rejected, first_line) -> None:
        """Import one row, counting it or recording why it was rejected."""
        number = row.values.get("student_number", "")
        try:
            if "_error" in row.values:
                raise ValidationError(row.values["_error"])
            if number in first_line:
                raise ValidationError(
                    f"student number {number} already appears on line "
                    f"{first_line[number]}"
                )
            _, status = student_import_row(
                student_number=number,
                first_name=row.values.get("first_name", ""),
                last_name=row.values.get("last_name", ""),
                email=row.values.get("email", ""),
                # None without the column: keep the preferred names there.
                preferred_name=row.values.get("preferred_name"),
            )
        except ValidationError as error:
            rejected.append((row.line, "; ".join(error.messages)))
            return
        first_line[number] = row.line
        counts[status] += 1
