"""The one CSV formula guard (core.csv) that every export writes through."""

import csv
import io
from decimal import Decimal

import pytest

from core.csv import SafeWriter, csv_response, safe_cell


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+31 20 123", "'+31 20 123"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Alpha B.V.", "Alpha B.V."),
        (None, ""),
        (Decimal("-12.50"), "-12.50"),
        (Decimal("1E+3"), "1000"),
        (-5, -5),
        (True, "True"),
    ],
)
def test_text_that_a_spreadsheet_would_run_is_quoted_and_numbers_stay_numbers(value, cell):
    assert safe_cell(value) == cell


def test_the_writer_guards_every_cell():
    buffer = io.StringIO()
    SafeWriter(buffer).writerow(["=1+1", Decimal("2.5"), None])
    assert next(csv.reader(io.StringIO(buffer.getvalue()))) == ["'=1+1", "2.5", ""]


def test_a_download_is_named_and_guarded():
    response = csv_response("partners", ["name"], [["=cmd|' /C calc'!A0"]])
    assert response["Content-Disposition"] == 'attachment; filename="partners.csv"'
    assert response.content.decode().splitlines() == ["name", "'=cmd|' /C calc'!A0"]
