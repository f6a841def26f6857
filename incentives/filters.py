"""django-filter sets of the incentives API.

Every filter is declared (none generated from Meta.fields): generating one over a partner-owned
model would query its scoped manager at import time. The partner filter is a plain id.
"""

import django_filters
from django import forms
from django.db.models import BigIntegerField
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from .models import (
    EarningLine,
    LineKind,
    Payout,
    PayoutStatus,
    Program,
    ProgramPeriod,
    Redemption,
    RedemptionStatus,
    Reward,
    RewardType,
)


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    """A whole id within the database's range: NumberFilter reads a decimal, which cut "7.5" down to 7
    and passed "1e+83" on to the database (SQLite cannot bind it: a 500)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, min_value=1, max_value=BigIntegerField.MAX_BIGINT, **kwargs)


class EarningLineFilter(django_filters.FilterSet):
    partner = IdFilter(field_name="partner_id", label=_("Partner ID"))
    program = django_filters.ModelChoiceFilter(queryset=Program.objects.all(), label=_("Program"))
    period = django_filters.ModelChoiceFilter(queryset=ProgramPeriod.objects.all(), label=_("Period"))
    kind = django_filters.ChoiceFilter(choices=LineKind.choices, label=_("Kind"))
    reward_type = django_filters.ChoiceFilter(choices=RewardType.choices, label=_("Reward"))
    unpaid = django_filters.BooleanFilter(field_name="payout", lookup_expr="isnull", label=_("Not in a payout yet"))

    class Meta:
        model = EarningLine
        fields = ["partner", "program", "period", "kind", "reward_type", "unpaid"]


class PayoutFilter(django_filters.FilterSet):
    partner = IdFilter(field_name="partner_id", label=_("Partner ID"))
    program = django_filters.ModelChoiceFilter(queryset=Program.objects.all(), label=_("Program"))
    status = django_filters.ChoiceFilter(choices=PayoutStatus.choices, label=_("Status"))
    created_after = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte", label=_("Created on or after"))
    created_before = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte", label=_("Created on or before"))

    class Meta:
        model = Payout
        fields = ["partner", "program", "status", "created_after", "created_before"]


class RedemptionFilter(django_filters.FilterSet):
    partner = IdFilter(field_name="partner_id", label=_("Partner ID"))
    reward = django_filters.ModelChoiceFilter(queryset=Reward.objects.all(), label=_("Reward"))
    status = django_filters.ChoiceFilter(choices=RedemptionStatus.choices, label=_("Status"))

    class Meta:
        model = Redemption
        fields = ["partner", "reward", "status"]
