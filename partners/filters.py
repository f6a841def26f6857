"""django-filter sets shared by the manager UI and the API, so both filter the same way."""


import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from core.filters import InRangeModelMultipleChoiceFilter

from .fields import IsoDateTimeFilter
from .models import Contact, Interaction, InteractionKind, Partner, PartnerStatus, PartnerType, Territory, Tier


def _account_managers(request):
    from .selectors import account_manager_choices

    return account_manager_choices()


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


def partner_choices(request):
    return Partner.objects.all()


class ContactFilter(django_filters.FilterSet):
    """Filters are declared, not generated: generating them would query scoped models at import."""

    partner = django_filters.ModelChoiceFilter(queryset=partner_choices, label=_("Partner"))
    is_primary = django_filters.BooleanFilter(label=_("Primary contact"))

    class Meta:
        model = Contact
        fields = ["partner", "is_primary"]


class InteractionFilter(django_filters.FilterSet):
    partner = django_filters.ModelChoiceFilter(queryset=partner_choices, label=_("Partner"))
    kind = django_filters.MultipleChoiceFilter(choices=InteractionKind.choices)
    occurred_after = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = Interaction
        fields = ["partner", "kind", "occurred_after", "occurred_before"]


# --- sales data (API) -----------------------------------------------------------------------------


