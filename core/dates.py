"""Calendar arithmetic, one name per meaning.

Two different things were both called `add_months`: moving a date by whole months keeping its day
(a points expiry date, a grace period, a program's end) and stepping from month to month on the
first of the month (KPI periods, rollup months). They get distinct names here.
"""

import calendar
from datetime import date, timedelta


def shift_months(day, months):
    """The same day `months` later (or earlier); a day the target month lacks becomes its last day
    (31 January + 1 month = 28 or 29 February)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def month_start_after(day, months):
    """The first day of the month `months` after the month of `day` (0: the first of its own month)."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_end(day):
    """The last day of the month of `day`."""
    return month_start_after(day, 1) - timedelta(days=1)


def quarter_start(day):
    """The first day of the calendar quarter of `day`."""
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def one_year_earlier(day):
    """The same day a year earlier; 29 February becomes 28 February."""
    return shift_months(day, -12)
