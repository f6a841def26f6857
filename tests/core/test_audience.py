"""One audience rule (core.audience) for programs, rewards and surveys: the Q, the Python check and
`reaching()` agree on every partner, and each model's own eligibility rules are kept."""

import pytest

from incentives.models import Program, Reward
from partners.models import Partner, PartnerStatus, PartnerType
from surveys.models import Survey
from tests.incentives.factories import ProgramFactory, RewardFactory
from tests.partners.factories import PartnerFactory, TerritoryFactory, TierFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    gold, silver = TierFactory(rank=3, name="Gold"), TierFactory(rank=2, name="Silver")
    north, south = TerritoryFactory(name="North"), TerritoryFactory(name="South")
    partners = {
        "gold_north_reseller": PartnerFactory(tier=gold, territory=north, partner_type=PartnerType.RESELLER),
        "gold_south_msp": PartnerFactory(tier=gold, territory=south, partner_type=PartnerType.MSP),
        "silver_north_reseller": PartnerFactory(tier=silver, territory=north, partner_type=PartnerType.RESELLER),
        "no_tier": PartnerFactory(tier=None, territory=None),
        "gold_applicant": PartnerFactory(tier=gold, territory=north, status=PartnerStatus.APPLICANT),
        "gold_inactive": PartnerFactory(tier=gold, territory=north, status=PartnerStatus.INACTIVE),
    }
    return gold, silver, north, south, partners


def _names(partners, ids):
    return {name for name, partner in partners.items() if partner.pk in ids}


def _agree(obj, partners):
    """The audience by Q, by matches() and by reaching() is the same set."""
    by_q = set(Partner.objects.filter(obj.audience_q()).values_list("pk", flat=True))
    by_python = {partner.pk for partner in partners.values() if obj.matches(partner)}
    by_reaching = {partner.pk for partner in partners.values() if type(obj).objects.filter(pk=obj.pk).reaching(partner).exists()}
    assert by_q == by_python == by_reaching
    return _names(partners, by_q)


def test_an_empty_audience_is_everybody_the_model_allows(world):
    *_, partners = world
    assert _agree(ProgramFactory(), partners) == set(partners) - {"gold_applicant"}
    assert _agree(RewardFactory(), partners) == set(partners)
    assert _agree(Survey.objects.create(title="Pulse"), partners) == set(partners) - {"gold_applicant", "gold_inactive"}


def test_every_criterion_narrows_and_they_combine(world):
    gold, silver, north, _south, partners = world
    program = ProgramFactory(partner_types=[PartnerType.RESELLER])
    program.tiers.set([gold])
    program.territories.set([north])
    assert _agree(program, partners) == {"gold_north_reseller", "gold_inactive"}

    program.partners.set([partners["gold_inactive"]])
    assert _agree(program, partners) == {"gold_inactive"}

    reward = RewardFactory()
    reward.tiers.set([silver])
    assert _agree(reward, partners) == {"silver_north_reseller"}

    survey = Survey.objects.create(title="MSP pulse", partner_types=[PartnerType.MSP])
    assert _agree(survey, partners) == {"gold_south_msp"}


def test_reaching_lists_the_objects_for_one_partner(world):
    gold, silver, *_rest, partners = world
    for_gold = ProgramFactory(name="Gold only")
    for_gold.tiers.set([gold])
    for_all = ProgramFactory(name="Everyone")
    assert set(Program.objects.reaching(partners["gold_north_reseller"]).values_list("name", flat=True)) == {"Gold only", "Everyone"}
    assert set(Program.objects.reaching(partners["silver_north_reseller"]).values_list("name", flat=True)) == {"Everyone"}
    assert not Program.objects.reaching(partners["gold_applicant"]).exists()
    assert for_all in Program.objects.reaching(partners["no_tier"])
    silver_reward = RewardFactory()
    silver_reward.tiers.set([silver])
    assert list(Reward.objects.available_to(partners["silver_north_reseller"])) == [silver_reward]
