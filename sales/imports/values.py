"""Row-level rules shared by both engines: how values are parsed, and the message of every error code.

The PostgreSQL engine checks the same rules in SQL (see `sales_copy.py`) and returns these codes,
so a rejected row reads the same whichever engine found it.
"""

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext as _

# ASCII digits only ([0-9], not \d, which in Python also matches other scripts' digits), and always
# used with fullmatch (Python's `$` also matches before a final line break). The COPY engine uses
# the same patterns in SQL.
AMOUNT_RE = re.compile(r"[+-]?[0-9]{1,14}(\.[0-9]{1,4})?")
TOO_PRECISE_RE = re.compile(r"[+-]?[0-9]{1,14}\.[0-9]{5,}")
QUANTITY_RE = re.compile(r"[+-]?[0-9]{1,12}(\.[0-9]{1,4})?")
ISO_DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
DMY_DATE_RE = re.compile(r"([0-9]{2})[-./]([0-9]{2})[-./]([0-9]{4})")
CURRENCY_RE = re.compile(r"[A-Za-z]{3}")
# With a decimal comma, a point is only a thousands separator: "1.234.567,89", never "10.50".
GROUPED_RE = re.compile(r"[+-]?[0-9]{1,3}(\.[0-9]{3})+(,[0-9]*)?")
MIN_YEAR, MAX_YEAR = 1900, 2199
MAX_KEY_LENGTH = 64


def messages():
    """Code -> message; `{value}` is the offending value."""
    return {
        "required": _("A value is required."),
        "too_long": _("Longer than 64 characters."),
        "bad_date": _("“{value}” is not a valid date in the file's date format."),
        "bad_amount": _("“{value}” is not an amount (digits, an optional sign and up to 4 decimals)."),
        "too_precise": _("“{value}” has more than 4 decimals."),
        "bad_quantity": _("“{value}” is not a quantity."),
        "negative_quantity": _("A negative quantity is only allowed on a credit note (a negative amount)."),
        "bad_currency": _("“{value}” is not a three-letter currency code."),
        "unknown_partner": _("No partner has the external ID “{value}”."),
        "unknown_product": _("No product has the SKU “{value}”."),
        "unknown_customer": _("No customer has the external ID “{value}”."),
        "duplicate": _("The external ID “{value}” appears more than once in this file."),
        "paid_before_invoice": _("The paid date is before the invoice date."),
    }


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    code: str
    value: str = ""

    def message(self, table=None):
        return (table or messages())[self.code].format(value=self.value)

    def as_dict(self, table=None):
        return {"line": self.line, "column": self.column, "reason": self.message(table)}


def normalise_number(text, decimal_comma):
    """'1.234,5' -> '1234.5' with a decimal comma; '1234.5' stays. Spaces are thousands separators.

    With a decimal comma, a point that is not a thousands separator ("10.50") makes the value
    unreadable (None) instead of silently multiplying it by a hundred.
    """
    text = text.replace(" ", "").replace("\u00a0", "")
    if decimal_comma:
        if "." in text and not GROUPED_RE.fullmatch(text):
            return None
        return text.replace(".", "").replace(",", ".")
    return text


def parse_amount(text, *, decimal_comma, column, line, errors):
    value = normalise_number(text, decimal_comma)
    if value is not None and AMOUNT_RE.fullmatch(value):
        return Decimal(value)
    too_precise = value is not None and TOO_PRECISE_RE.fullmatch(value)
    errors.append(RowError(line, column, "too_precise" if too_precise else "bad_amount", text))
    return None


def parse_quantity(text, *, decimal_comma, line, errors):
    value = normalise_number(text, decimal_comma)
    if value is not None and QUANTITY_RE.fullmatch(value):
        return Decimal(value)
    errors.append(RowError(line, "quantity", "bad_quantity", text))
    return None


def parse_date(text, *, day_first, column, line, errors):
    match = (DMY_DATE_RE if day_first else ISO_DATE_RE).fullmatch(text)
    if match:
        parts = [int(part) for part in match.groups()]
        year, month, day = (parts[2], parts[1], parts[0]) if day_first else parts
        if MIN_YEAR <= year <= MAX_YEAR:
            try:
                return date(year, month, day)
            except ValueError:
                pass
    errors.append(RowError(line, column, "bad_date", text))
    return None


def decimal_comma_for(options, delimiter):
    """Decimal comma when asked, or by default for semicolon files (the European export)."""
    if options.decimal == "comma":
        return True
    if options.decimal == "point":
        return False
    return delimiter == ";"
