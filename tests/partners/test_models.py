"""The partner record's rules that live in the database and in `Model.clean()`."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from partners.models import Contact, Partner, PartnerType, Territory, Tier
from tests.partners.factories import ContactFactory, PartnerFactory, TerritoryFactory, TierFactory

pytestmark = pytest.mark.django_db


def _today():
    return timezone.localdate()


# Database constraints: the last guard, whatever code path writes the row.


def test_a_partner_has_at_most_one_primary_contact(partner_a):
    ContactFactory(partner=partner_a, is_primary=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        ContactFactory(partner=partner_a, is_primary=True)


def test_other_partners_and_non_primary_contacts_are_not_limited(partner_a, partner_b):
    ContactFactory(partner=partner_a, is_primary=True)
    ContactFactory(partner=partner_a, is_primary=False)
    ContactFactory(partner=partner_a, is_primary=False)
    ContactFactory(partner=partner_b, is_primary=True)

    assert Contact.objects.filter(is_primary=True).count() == 2
    assert Contact.objects.filter(partner=partner_a).count() == 3


def test_a_partner_cannot_be_its_own_parent_in_the_database(partner_a):
    with pytest.raises(IntegrityError), transaction.atomic():
        Partner.objects.filter(pk=partner_a.pk).update(parent=partner_a)


def test_a_territory_cannot_be_its_own_parent_in_the_database():
    territory = TerritoryFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Territory.objects.filter(pk=territory.pk).update(parent=territory)


def test_churn_date_before_join_date_is_refused_by_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        PartnerFactory(joined_on=_today(), churned_on=_today() - timezone.timedelta(days=1))


def test_churn_date_on_or_after_join_date_or_without_join_date_is_stored():
    PartnerFactory(joined_on=_today(), churned_on=_today())
    PartnerFactory(joined_on=None, churned_on=_today())

    assert Partner.objects.filter(churned_on=_today()).count() == 2


def test_external_id_is_unique():
    PartnerFactory(external_id="ERP-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        PartnerFactory(external_id="ERP-1")


def test_many_partners_may_have_no_external_id():
    PartnerFactory.create_batch(3, external_id="")

    assert Partner.objects.filter(external_id="").count() == 3


def test_full_clean_refuses_a_duplicate_external_id_before_the_database_does():
    PartnerFactory(external_id="ERP-1")
    partner = PartnerFactory.build(external_id="ERP-1")

    with pytest.raises(ValidationError, match="partner_external_id_unique"):
        partner.full_clean()


# Partner.clean: two-tier distribution rules.


def test_parent_must_be_a_distributor():
    reseller = PartnerFactory(partner_type=PartnerType.RESELLER)
    partner = PartnerFactory.build(parent=reseller)

    with pytest.raises(ValidationError) as excinfo:
        partner.full_clean()

    assert excinfo.value.message_dict["parent"] == ["The parent partner must be a distributor."]


def test_a_distributor_is_a_valid_parent():
    distributor = PartnerFactory(partner_type=PartnerType.DISTRIBUTOR)
    partner = PartnerFactory.build(parent=distributor)

    partner.full_clean()  # does not raise


def test_a_partner_cannot_be_its_own_distributor_in_clean():
    distributor = PartnerFactory(partner_type=PartnerType.DISTRIBUTOR)
    distributor.parent = distributor

    with pytest.raises(ValidationError) as excinfo:
        distributor.full_clean()

    assert excinfo.value.message_dict["parent"] == ["A partner cannot be its own distributor."]


def test_a_distributor_that_has_a_parent_cannot_serve_resellers():
    top = PartnerFactory(partner_type=PartnerType.DISTRIBUTOR)
    sub = PartnerFactory(partner_type=PartnerType.DISTRIBUTOR, parent=top)
    reseller = PartnerFactory.build(parent=sub)

    with pytest.raises(ValidationError) as excinfo:
        reseller.full_clean()

    assert excinfo.value.message_dict["parent"] == ["A distributor that buys through another distributor cannot serve resellers."]


def test_a_distributor_that_serves_resellers_cannot_get_a_parent():
    """The same rule seen from the other side: giving a parent to a distributor with resellers."""
    top = PartnerFactory(partner_type=PartnerType.DISTRIBUTOR)
    distributor = PartnerFactory(partner_type=PartnerType.DISTRIBUTOR)
    PartnerFactory(parent=distributor)
    distributor.parent = top

    with pytest.raises(ValidationError) as excinfo:
        distributor.full_clean()

    assert excinfo.value.message_dict["parent"] == ["A distributor that serves resellers cannot buy through another distributor."]


def test_a_distributor_that_serves_resellers_must_stay_a_distributor():
    distributor = PartnerFactory(partner_type=PartnerType.DISTRIBUTOR)
    PartnerFactory(parent=distributor)
    distributor.partner_type = PartnerType.RESELLER

    with pytest.raises(ValidationError) as excinfo:
        distributor.full_clean()

    assert excinfo.value.message_dict["partner_type"] == ["A partner that serves resellers must stay a distributor."]


def test_a_distributor_without_resellers_may_change_type():
    distributor = PartnerFactory(partner_type=PartnerType.DISTRIBUTOR)
    distributor.partner_type = PartnerType.RESELLER

    distributor.full_clean()  # does not raise


def test_clean_refuses_a_churn_date_before_the_join_date():
    partner = PartnerFactory.build(joined_on=_today(), churned_on=_today() - timezone.timedelta(days=1))

    with pytest.raises(ValidationError) as excinfo:
        partner.full_clean()

    assert excinfo.value.message_dict["churned_on"] == ["The churn date cannot be before the join date."]


# Territory.clean: the nesting cannot loop.


def test_territory_cannot_be_placed_inside_its_own_descendant():
    emea = TerritoryFactory(name="EMEA")
    benelux = TerritoryFactory(name="Benelux", parent=emea)
    netherlands = TerritoryFactory(name="Netherlands", parent=benelux)
    emea.parent = netherlands

    with pytest.raises(ValidationError) as excinfo:
        emea.full_clean()

    assert excinfo.value.message_dict["parent"] == ["A territory cannot be inside itself."]


def test_territory_cannot_be_its_own_parent_in_clean():
    emea = TerritoryFactory(name="EMEA")
    emea.parent = emea

    with pytest.raises(ValidationError) as excinfo:
        emea.full_clean()

    assert "parent" in excinfo.value.message_dict


def test_territory_may_nest_without_a_cycle():
    emea = TerritoryFactory(name="EMEA")
    benelux = TerritoryFactory(name="Benelux", parent=emea)
    netherlands = TerritoryFactory(name="Netherlands")
    netherlands.parent = benelux

    netherlands.full_clean()  # does not raise


# Tier colour.


@pytest.mark.parametrize("colour", ["#00FF7f", "#000000", "#abcdef"])
def test_tier_colour_accepts_hex_rrggbb(colour):
    Tier(name="Gold", rank=3, colour=colour).full_clean()  # does not raise


@pytest.mark.parametrize("colour", ["red", "#fff", "00ff00", "#00ff0g", "#00ff00;"])
def test_tier_colour_refuses_anything_but_hex_rrggbb(colour):
    with pytest.raises(ValidationError) as excinfo:
        Tier(name="Gold", rank=3, colour=colour).full_clean()

    assert "Enter a colour as #RRGGBB." in excinfo.value.message_dict["colour"]


def test_tier_rank_and_name_are_unique():
    TierFactory(rank=1, name="Silver")

    with pytest.raises(ValidationError) as excinfo:
        Tier(name="Silver", rank=1).full_clean()

    assert set(excinfo.value.message_dict) == {"name", "rank"}
