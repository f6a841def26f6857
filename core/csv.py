"""Safe CSV writing: the one guard against spreadsheet formulas (CSV injection) for every export.

Spreadsheet programs run a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return as
a formula; partner names, references and survey answers come from outside, so every text cell is
prefixed with a quote when it starts with one of them. Numbers are written as plain numbers (a
negative amount stays a number, no grouping), None as an empty cell.
"""

import csv
from decimal import Decimal

from django.http import HttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def plain_number(value):
    """A number as a CSV cell or chart value: Decimal as a plain string without exponent or grouping."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        if value == value.to_integral():
            return format(value.to_integral(), "f")
        return format(value.quantize(Decimal("0.0001")) if value.as_tuple().exponent < -4 else value, "f")
    return value


def safe_cell(value):
    """One cell: numbers as numbers, anything else as text that a spreadsheet will not execute."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float | Decimal):
        return plain_number(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


class SafeWriter:
    """`csv.writer` whose every cell goes through `safe_cell`."""

    def __init__(self, fileobj, **kwargs):
        self._writer = csv.writer(fileobj, **kwargs)

    def writerow(self, row):
        return self._writer.writerow([safe_cell(cell) for cell in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


def csv_response(filename, header=None, rows=()):
    """A CSV download named `filename` (without .csv); returns the response, rows written through the guard."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    writer = SafeWriter(response)
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    return response
