"""factory-boy factories for the partners app (and the users every test signs in as); small, explicit, no fixtures files."""

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from partners.idempotency import FORM_TOKEN_FIELD, issue_form_token
from partners.models import (
    Contact,
    Interaction,
    InteractionKind,
    Membership,
    MembershipRole,
    Partner,
    PartnerApplication,
    PartnerStatus,
    PartnerType,
    Territory,
    Tier,
)
from partners.tenancy import MANAGER_GROUP

User = get_user_model()
PASSWORD = "correct-horse-battery-staple"


def with_form_token(client, url, data=None):
    """POST data for a form guarded by a one-time token, as its page renders it for the client's signed-in user."""
    user = User.objects.get(pk=client.session["_auth_user_id"])
    return {**(data or {}), FORM_TOKEN_FIELD: issue_form_token(user=user, action=url)}


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}@example.test")
    email = factory.SelfAttribute("username")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password(PASSWORD)


class ManagerFactory(UserFactory):
    username = factory.Sequence(lambda n: f"manager{n}@example.test")
    is_staff = True

    @factory.post_generation
    def in_group(obj, create, extracted, **kwargs):
        if create:
            obj.groups.add(Group.objects.get(name=MANAGER_GROUP))


class TierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tier
        django_get_or_create = ("rank",)

    rank = factory.Sequence(lambda n: n + 1)
    name = factory.LazyAttribute(lambda o: f"Tier {o.rank}")
    colour = "#c0c0c0"


class TerritoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Territory

    name = factory.Sequence(lambda n: f"Territory {n}")
    countries = ["NL", "BE"]


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner

    name = factory.Sequence(lambda n: f"Partner {n} B.V.")
    partner_type = PartnerType.RESELLER
    status = PartnerStatus.ACTIVE
    country = "NL"
    external_id = factory.Sequence(lambda n: f"EXT-{n:05d}")
    joined_on = factory.LazyFunction(lambda: timezone.localdate() - timezone.timedelta(days=400))


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    partner = factory.SubFactory(PartnerFactory)
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"contact{n}@example.test")
    role = "Sales lead"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    partner = factory.SubFactory(PartnerFactory)
    role = MembershipRole.USER


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    partner = factory.SubFactory(PartnerFactory)
    kind = InteractionKind.CALL
    summary = factory.Sequence(lambda n: f"Call number {n}")
    occurred_at = factory.LazyFunction(timezone.now)


class ApplicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PartnerApplication

    company_name = factory.Sequence(lambda n: f"Applicant {n} GmbH")
    partner_type = PartnerType.VAR
    country = "DE"
    first_name = "Anna"
    last_name = "Schmidt"
    email = factory.Sequence(lambda n: f"anna{n}@applicant.test")
