"""Filter building blocks every app's filter sets and API share (django-filter, DRF).

Strict where the libraries are lenient: a value that is not a valid choice, boolean or month is a
400 that names the parameter, never ignored silently and never a 500.
"""

import datetime as dt
import re

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db import connections, models
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import filters, serializers


class InRangeModelMultipleChoiceField(django_filters.fields.ModelMultipleChoiceField):
    """Refuses an integer key beyond the database's range as an unknown choice, before any query:
    SQLite cannot bind 10**25 at all (an OverflowError, so a 500 instead of a 400)."""

    def _check_values(self, value):
        field = self.queryset.model._meta.get_field(self.to_field_name or self.queryset.model._meta.pk.name)
        if isinstance(field, models.IntegerField):
            low, high = connections[self.queryset.db].ops.integer_field_range(field.get_internal_type())
            for item in value:
                try:
                    number = int(str(item))
                except ValueError:
                    continue  # not a number: the parent names it as an invalid value
                if (low is not None and number < low) or (high is not None and number > high):
                    raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice", params={"value": item})
        return super()._check_values(value)


class InRangeModelMultipleChoiceFilter(django_filters.ModelMultipleChoiceFilter):
    field_class = InRangeModelMultipleChoiceField


class SearchFilter(filters.SearchFilter):
    """DRF's search, with its refusals (a NUL character) named under the parameter, like every other
    filter error, instead of a bare list."""

    def get_search_terms(self, request):
        try:
            return super().get_search_terms(request)
        except serializers.ValidationError as error:
            raise serializers.ValidationError({self.search_param: error.detail}) from error


class StrictBooleanField(forms.Field):
    """true/false/1/0 (any case); anything else is an error, where django-filter would ignore it silently."""

    default_error_messages = {"invalid": _("Enter true or false.")}

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise ValidationError(self.error_messages["invalid"], code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


MONTH_RE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")


class MonthField(forms.Field):
    """A month as YYYY-MM, or any date (YYYY-MM-DD) of it; cleans to the first day of the month."""

    default_error_messages = {"invalid": _("Enter a month as YYYY-MM (or a date as YYYY-MM-DD).")}

    def to_python(self, value):
        if value in (None, ""):
            return None
        match = MONTH_RE.match(str(value).strip())
        if not match:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        year, month, day = (int(part) if part else 1 for part in match.groups())
        try:
            dt.date(year, month, day)  # the whole date must exist, even though only its month is used
        except ValueError as error:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from error
        return dt.date(year, month, 1)


@extend_schema_field(OpenApiTypes.STR)
class MonthFilter(django_filters.Filter):
    field_class = MonthField


class StableOrderingFilter(django_filters.OrderingFilter):
    """An ordering that ends on the primary key, so that pages never repeat or skip rows of equal value."""

    def filter(self, qs, value):
        if not value:
            return qs
        ordering = [self.get_ordering_value(param) for param in value]
        return qs.order_by(*ordering, "-id" if ordering[-1].startswith("-") else "id")
