"""factory-boy factories for the enablement app."""

from datetime import date

import factory

from enablement.models import Certification
from tests.partners.factories import ContactFactory


class CertificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Certification

    contact = factory.SubFactory(ContactFactory)
    partner = factory.SelfAttribute("contact.partner")
    name = "Network Associate"
    earned_on = date(2026, 2, 1)
