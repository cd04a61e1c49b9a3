"""CSV for spreadsheets: neutralised formula cells and a UTF-8 BOM.

A cell starting with `=`, `+`, `-`, `@`, tab or carriage return is run as a
formula by spreadsheet programs (CSV injection), so it gets a leading `'`.
Every export and download goes through these helpers.
"""

import csv
from collections.abc import Iterable

from django.http import HttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def safe_cell(value) -> str:
    """Return the value as text that a spreadsheet shows but never evaluates."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def write_rows(file, header: Iterable, rows: Iterable[Iterable]) -> None:
    """Write the header and rows to an open text file, every cell neutralised."""
    writer = csv.writer(file)
    writer.writerow([safe_cell(cell) for cell in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])


def csv_response(
    filename: str, header: Iterable, rows: Iterable[Iterable]
) -> HttpResponse:
    """Return a CSV download with a UTF-8 BOM (so spreadsheets read it as UTF-8)."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write(BOM)
    write_rows(response, header, rows)
    return response
