"""Django admin of incentives: every model is registered and its pages open with real rows."""

from datetime import date
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from incentives import services
from incentives.models import IncentiveSettings, ProgramPeriod, ProgramStatus, TierRule
from sales.imports import rollups
from tests.partners.factories import TierFactory
from tests.sales.factories import SaleFactory

from .factories import RewardFactory, RuleFactory

MODELS = sorted(apps.get_app_config("incentives").get_models(), key=lambda model: model.__name__)


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def world(partner_a, admin_a, superuser):
    program = RuleFactory().program
    SaleFactory(partner=partner_a, amount=Decimal("50000"), invoice_date=date(2026, 2, 1))
    rollups.refresh({(partner_a.pk, date(2026, 2, 1))})
    services.periods_ensure(program=program, today=date(2026, 4, 2))
    services.period_close(period=ProgramPeriod.objects.get(program=program, starts_on=date(2026, 1, 1)), today=date(2026, 4, 2))
    (payout,) = services.payouts_create(by=superuser)
    services.points_earn(partner=partner_a, points=500)
    services.redemption_request(partner=partner_a, user=admin_a, reward=RewardFactory(points_cost=100))
    TierRule.objects.create(tier=TierFactory(rank=1))
    services.tiers_evaluate(today=date(2026, 4, 2))
    IncentiveSettings.load()
    return payout


def test_every_incentives_model_is_registered():
    assert [model for model in MODELS if not admin.site.is_registered(model)] == []


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_changelist_search_and_change_page_open(admin_client, world, model):
    assert admin_client.get(_url(model, "changelist")).status_code == 200
    assert admin_client.get(_url(model, "changelist"), {"q": "a"}).status_code == 200
    obj = model._default_manager.order_by("pk").first()
    assert admin_client.get(_url(model, "change", obj.pk)).status_code == 200


def test_payout_page_lists_its_lines(admin_client, world):
    response = admin_client.get(_url(type(world), "change", world.pk))
    assert "Revenue 50,000: 2% on 50,000" in response.content.decode()


def test_bad_rule_parameters_in_the_admin_are_shown_on_the_params_field(admin_client):
    rule = RuleFactory(kind="mdf", params={"percent": "2"}, program__status=ProgramStatus.DRAFT)
    data = {"program": rule.program_id, "kind": "mdf", "name": "", "params": '{"percent": -1}', "position": "0"}
    response = admin_client.post(_url(type(rule), "change", rule.pk), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"params": ["The MDF percentage cannot be negative."]}
    rule.refresh_from_db()
    assert rule.params == {"percent": "2"}
