"""factory-boy factories for incentives tests: a quarterly program of 2026 Q1 by default."""

from datetime import date
from decimal import Decimal

import factory

from enablement.models import Certification
from incentives.models import Program, ProgramStatus, Reward, RewardKind, Rule, RuleKind
from sales.models import Customer, Product, Sale
from tests.factories import ContactFactory, PartnerFactory


class ProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Program

    name = factory.Sequence(lambda n: f"Rebate program {n}")
    description = "Quarterly rebate."
    period = "quarterly"
    starts_on = date(2026, 1, 1)
    ends_on = date(2026, 12, 31)
    status = ProgramStatus.ACTIVE


class RuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Rule

    program = factory.SubFactory(ProgramFactory)
    kind = RuleKind.REVENUE_REBATE
    params = factory.LazyFunction(
        lambda: {"mode": "marginal", "brackets": [{"from": "0", "to": "100000", "rate": "2"}, {"from": "100000", "to": None, "rate": "4"}]}
    )


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


class CertificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Certification

    contact = factory.SubFactory(ContactFactory)
    partner = factory.SelfAttribute("contact.partner")
    name = "Network Associate"
    earned_on = date(2026, 2, 1)


class RewardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reward

    name = factory.Sequence(lambda n: f"Gift card {n}")
    kind = RewardKind.GIFT_CARD
    points_cost = 100
