"""Reads of the sales data that several apps share."""

from django.db.models import Q

from .models import CustomerFirstSale


def new_customers(*, starts_on, ends_before, condition=None):
    """Customers new to a partner in [starts_on, ends_before): one row per (partner, customer) whose first
    invoice line with an amount above zero falls in the range, ever (`CustomerFirstSale`, kept by every
    import's rollup refresh). The one definition of "new customer" for the incentive engine and the KPIs.
    """
    return CustomerFirstSale.objects.filter(condition or Q(), first_invoice_date__gte=starts_on, first_invoice_date__lt=ends_before)
