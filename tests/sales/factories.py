"""factory-boy factories for the sales app: customers, products, sales lines and the monthly rollup rows."""

from datetime import date
from decimal import Decimal

import factory

from sales.imports import rollups
from sales.models import Customer, Product, Sale, SalesMonth, SalesMonthDetail
from tests.partners.factories import PartnerFactory


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    external_id = factory.Sequence(lambda n: f"CUST-{n}")
    name = factory.Sequence(lambda n: f"Customer {n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n}")
    name = factory.Sequence(lambda n: f"Product {n}")
    category = "Networking"


class SaleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sale

    partner = factory.SubFactory(PartnerFactory)
    invoice_date = date(2026, 2, 10)
    amount = Decimal("1000")
    quantity = Decimal("1")
    is_credit_note = factory.LazyAttribute(lambda o: Decimal(o.amount) < 0)
    external_id = factory.Sequence(lambda n: f"INV-{n}")


class SalesMonthFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SalesMonth

    partner = factory.SubFactory(PartnerFactory)
    month = date(2026, 1, 1)
    revenue = Decimal("1000")
    line_count = 1


class SalesMonthDetailFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SalesMonthDetail

    partner = factory.SubFactory(PartnerFactory)
    month = date(2026, 1, 1)
    category = "Networking"
    country = "NL"
    revenue = Decimal("1000")
    line_count = 1

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        """A hand-made detail rollup keeps the partner's first-seen markets current, as an import's refresh would."""
        detail = super()._create(model_class, *args, **kwargs)
        rollups.refresh_market_firsts({detail.partner_id})
        return detail
