"""Filter sets of the sales API (django-filter)."""

import django_filters
from django.utils.translation import gettext_lazy as _

from core.filters import MonthFilter, StableOrderingFilter, StrictBooleanFilter
from partners.filters import partner_choices

from .models import Product, Sale, SalesMonth


class SaleFilter(django_filters.FilterSet):
    partner = django_filters.ModelChoiceFilter(queryset=partner_choices, label=_("Partner"))
    source = django_filters.CharFilter(label=_("Source"), help_text=_("The system the external IDs come from, for example erp."))
    invoice_after = django_filters.DateFilter(
        field_name="invoice_date", lookup_expr="gte", label=_("Invoiced on or after"), help_text=_("YYYY-MM-DD, inclusive.")
    )
    invoice_before = django_filters.DateFilter(
        field_name="invoice_date", lookup_expr="lte", label=_("Invoiced on or before"), help_text=_("YYYY-MM-DD, inclusive.")
    )
    is_credit_note = StrictBooleanFilter(label=_("Credit note"))
    product_sku = django_filters.CharFilter(field_name="product__sku", label=_("Product SKU"))
    customer_external_id = django_filters.CharFilter(field_name="customer__external_id", label=_("Customer external ID"))
    ordering = StableOrderingFilter(
        fields=(("invoice_date", "invoice_date"), ("amount", "amount")),
        label=_("Sort by"),
        help_text=_("invoice_date or amount, with a leading - for descending; the default is newest first."),
    )

    class Meta:
        model = Sale
        fields = ["partner", "source", "invoice_after", "invoice_before", "is_credit_note", "product_sku", "customer_external_id"]


class SalesMonthFilter(django_filters.FilterSet):
    partner = django_filters.ModelChoiceFilter(queryset=partner_choices, label=_("Partner"))
    month_after = MonthFilter(field_name="month", lookup_expr="gte", label=_("From month"), help_text=_("YYYY-MM, inclusive."))
    month_before = MonthFilter(field_name="month", lookup_expr="lte", label=_("Until month"), help_text=_("YYYY-MM, inclusive."))

    class Meta:
        model = SalesMonth
        fields = ["partner", "month_after", "month_before"]


class ProductFilter(django_filters.FilterSet):
    category = django_filters.CharFilter(label=_("Category"))
    is_active = StrictBooleanFilter(label=_("Active"))

    class Meta:
        model = Product
        fields = ["category", "is_active"]
