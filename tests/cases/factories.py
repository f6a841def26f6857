"""factory-boy factories for the cases app."""

from datetime import date, datetime, time

import factory
from django.utils import timezone

from cases.models import Case, CaseKind
from tests.partners.factories import PartnerFactory


def at(day, hour=12):
    return timezone.make_aware(datetime.combine(day, time(hour)))


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case

    partner = factory.SubFactory(PartnerFactory)
    subject = factory.Sequence(lambda n: f"Case {n}")
    kind = CaseKind.SUPPORT
    opened_at = factory.LazyFunction(lambda: at(date(2026, 5, 1)))
