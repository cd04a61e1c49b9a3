"""Moments in the unit's time zone, as every page, frame, email and admin
list shows them: the formats live here and nowhere else.

The strings are part of the contract: tests, the board's frames and
`board.js` compare them byte for byte.
"""

from datetime import date

from django.core.exceptions import ValidationError
from django.utils import timezone

WHEN = "%a %d %b %Y, %H:%M"  # Wed 20 May 2026, 16:05 (windows, the ballot)
DAY = "%a %d %b %Y"  # Wed 20 May 2026
CLOCK = "%H:%M"  # 16:05
STAMP = "%Y-%m-%d %H:%M:%S"  # 2026-05-20 16:05:09 (admin lists)

# The days a slot, a booking window or an API date may fall on: far enough
# from datetime's own limits that no time-zone shift or slot length
# overflows. Year 1 in the unit's time zone can be before year 1 in UTC,
# which no database keeps (SQLite refuses to save it, PostgreSQL saves a BC
# time it can't read back).
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2999, 12, 31)


def validate_unit_day(moment) -> None:
    """Refuse a moment outside FIRST_DAY to LAST_DAY (a model validator)."""
    if not FIRST_DAY.year <= moment.year <= LAST_DAY.year:
        raise ValidationError(
            f"Pick a date between {FIRST_DAY.year} and {LAST_DAY.year}.",
            code="day_out_of_range",
        )


def local(moment):
    """The moment in the unit's time zone; None stays None (the API's times)."""
    return timezone.localtime(moment) if moment else None


def local_text(moment, fmt: str = WHEN) -> str:
    """The moment in the unit's time zone as `fmt`; "" for none."""
    return f"{timezone.localtime(moment):{fmt}}" if moment else ""


def slot_label(lab) -> str:
    """A slot as "Wed 20 May 2026, 16:05-16:20 · CSSE 2.01" (pages, emails)."""
    start, end = timezone.localtime(lab.start), timezone.localtime(lab.end)
    return f"{start:{WHEN}}-{end:{CLOCK}} · {lab.room}"


def slot_text(lab) -> str:
    """A slot as "CSSE 2.01 2026-05-20 16:05-16:20" (booking records); "" for none."""
    if lab is None:
        return ""
    start, end = timezone.localtime(lab.start), timezone.localtime(lab.end)
    return f"{lab.room} {start:%Y-%m-%d %H:%M}-{end:{CLOCK}}"
