import contextlib
import errno
import io
import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from projects import exports
from projects.csv_utils import BOM


def write_whole(path: Path, text: str) -> None:
    """Write `text` to the file `path` whole or not at all.

    It goes to a temporary file beside `path`, renamed over it once
    written: a full disk or Ctrl-C halfway leaves the previous file as it
    was. The new file keeps the old one's permissions (a new one gets the
    umask's). A symlink (/dev/stdout, say) or anything but a regular file
    (a device, a pipe) is written directly, through the link.
    """
    if path.is_symlink() or (path.exists() and not path.is_file()):
        _write_directly(path, text)
        return
    if path.exists():
        if not os.access(path, os.W_OK):  # read-only: left alone, as before
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
        mode = path.stat().st_mode & 0o777
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    try:
        fd, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".part"
        )
    except PermissionError:
        if not path.exists():
            raise
        # A file it may write in a folder it may not: written in place, as
        # before (the whole-or-nothing write needs a file beside it).
        _write_directly(path, text)
        return
    try:
        with open(fd, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _write_directly(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="") as file:
        file.write(text)


class Command(BaseCommand):
    help = (
        "Write a CSV of every team: members' numbers, names and emails, and the "
        "slot's room, date, start and end in local time (TIME_ZONE), and how "
        "it was booked (the coordinator page's teams file). Cells a "
        "spreadsheet would run as formulas are neutralised; a file written "
        "with --output starts with a UTF-8 BOM so spreadsheets read it right, "
        "and replaces the file only once written whole."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", help="write to this file, not stdout")

    def handle(self, *args, **options):
        output = options["output"]
        if output is not None and not output.strip():
            raise CommandError(
                "--output needs a file name (leave --output out to write to "
                "standard output)."
            )
        export = exports.allocations()
        buffer = io.StringIO()
        export.write(buffer)
        text = buffer.getvalue()
        if output is None:
            self.stdout.write(text, ending="")
            return
        try:
            write_whole(Path(output), BOM + text)
        except OSError as error:
            raise CommandError(
                f"Can't write {output}: {error.strerror or error}."
            ) from None
        self.stdout.write(
            self.style.SUCCESS(f"Wrote {len(export.rows)} team(s) to {output}."),
        )
