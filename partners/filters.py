"""django-filter sets shared by the manager UI and the API, so both filter the same way."""

import datetime as dt
import re

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db import connections, models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_countries import countries
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import filters, serializers

from .fields import IsoDateTimeFilter
from .models import Contact, Interaction, InteractionKind, Partner, PartnerStatus, PartnerType, Territory, Tier


def _account_managers(request):
    from .selectors import account_manager_choices

    return account_manager_choices()


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


class PartnerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    partner_type = django_filters.MultipleChoiceFilter(choices=PartnerType.choices, label=_("Type"))
    status = django_filters.MultipleChoiceFilter(choices=PartnerStatus.choices, label=_("Status"))
    tier = InRangeModelMultipleChoiceFilter(queryset=Tier.objects.all(), label=_("Tier"))
    territory = InRangeModelMultipleChoiceFilter(queryset=Territory.objects.all(), label=_("Territory"))
    country = django_filters.MultipleChoiceFilter(choices=list(countries), label=_("Country"))
    account_manager = django_filters.ModelChoiceFilter(queryset=_account_managers, label=_("Account manager"))
    mine = django_filters.BooleanFilter(method="only_mine", label=_("My partners"))
    parent = django_filters.ModelChoiceFilter(
        queryset=lambda request: Partner.objects.filter(partner_type=PartnerType.DISTRIBUTOR), label=_("Distributor")
    )
    ordering = django_filters.OrderingFilter(
        fields=(("name", "name"), ("status", "status"), ("tier__rank", "tier"), ("joined_on", "joined_on"), ("country", "country")),
        field_labels={"name": _("Name"), "status": _("Status"), "tier__rank": _("Tier"), "joined_on": _("Joined"), "country": _("Country")},
        label=_("Sort by"),
    )

    class Meta:
        model = Partner
        fields = ["q", "partner_type", "status", "tier", "territory", "country", "account_manager", "mine", "parent"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value) | Q(legal_name__icontains=value) | Q(external_id__iexact=value) | Q(website__icontains=value)
        )

    def only_mine(self, queryset, name, value):
        if value and self.request is not None and self.request.user.is_authenticated:
            return queryset.filter(account_manager=self.request.user)
        return queryset


def _partners(request):
    return Partner.objects.all()


class ContactFilter(django_filters.FilterSet):
    """Filters are declared, not generated: generating them would query scoped models at import."""

    partner = django_filters.ModelChoiceFilter(queryset=_partners, label=_("Partner"))
    is_primary = django_filters.BooleanFilter(label=_("Primary contact"))

    class Meta:
        model = Contact
        fields = ["partner", "is_primary"]


class InteractionFilter(django_filters.FilterSet):
    partner = django_filters.ModelChoiceFilter(queryset=_partners, label=_("Partner"))
    kind = django_filters.MultipleChoiceFilter(choices=InteractionKind.choices)
    occurred_after = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = Interaction
        fields = ["partner", "kind", "occurred_after", "occurred_before"]


# --- sales data (API) -----------------------------------------------------------------------------


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
