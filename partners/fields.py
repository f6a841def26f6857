"""Date-time input fields for forms and filters: every value leaves them in the current time zone.

A value like 2026-01-01T00:00:00+16:00 is a valid ISO 8601 instant that Python accepts, but
PostgreSQL refuses a UTC offset beyond ±15:59 (a 500). Converting it while cleaning keeps the
instant, never sends the client's offset to the database (DRF's serializer DateTimeField does the
same), and turns an instant outside years 1 to 9999 into a field error instead of an OverflowError.
"""

import datetime as dt

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters.fields import IsoDateTimeField


def to_current_timezone(value):
    """`value` (aware) as the same instant in the current time zone (and in UTC, which the database
    stores); a ValidationError when either falls outside the years 1 to 9999."""
    if value is None:
        return None
    try:
        value.astimezone(dt.UTC)
        return timezone.localtime(value)
    except (OverflowError, ValueError) as error:
        raise ValidationError(_("Enter a date and time between the years 1 and 9999."), code="overflow") from error


class AwareDateTimeField(forms.DateTimeField):
    def to_python(self, value):
        return to_current_timezone(super().to_python(value))


class AwareIsoDateTimeField(IsoDateTimeField):
    def to_python(self, value):
        return to_current_timezone(super().to_python(value))


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """django-filter's ISO 8601 date-time filter, cleaned to the current time zone."""

    field_class = AwareIsoDateTimeField
