"""Reward, tier-rule, rule and program writes go through services with an audit entry, from the
manager pages and from the Django admin alike; the admin shows running programs' rules read-only;
the re-evaluation button judges the loyalty criterion with the scores the nightly run uses."""

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from deals.models import DealRegistration, DealStatus
from incentives import providers, services
from incentives.models import AuditEntry, Program, ProgramStatus, Reward, Rule, RuleKind, TierRule
from kpis import services as kpi_services
from kpis.models import ScoreModel, ScoreSnapshot
from sales.imports import rollups
from tests.enablement.factories import CertificationFactory
from tests.partners.factories import TierFactory
from tests.sales.factories import SaleFactory

from .factories import ProgramFactory, RewardFactory, RuleFactory

pytestmark = pytest.mark.django_db

REBATE = {"mode": "marginal", "brackets": [{"from": "0", "to": None, "rate": "2"}]}


def _entries(obj):
    return list(
        AuditEntry.objects.filter(content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk)
        .order_by("pk")
        .values_list("action", "actor__email")
    )


def _admin(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


# --- services -------------------------------------------------------------------------------------


def test_reward_create_update_delete_are_audited_with_before_and_after(manager_user):
    silver = TierFactory(rank=1)
    reward = services.reward_create(by=manager_user, tiers=[silver], name="Mug", kind="merchandise", points_cost=100, stock=5)
    assert list(reward.tiers.all()) == [silver]
    services.reward_update(reward=reward, by=manager_user, points_cost=150)
    update = AuditEntry.objects.get(action="reward_update")
    assert (update.before["points_cost"], update.after["points_cost"]) == (100, 150)
    reward_id = reward.pk
    services.reward_delete(reward=reward, by=manager_user)
    assert not Reward.objects.filter(pk=reward_id).exists()
    assert list(AuditEntry.objects.filter(object_id=reward_id).order_by("pk").values_list("action", flat=True)) == [
        "reward_create",
        "reward_update",
        "reward_delete",
    ]


def test_a_redeemed_reward_cannot_be_deleted(partner_a, admin_a):
    reward = RewardFactory(points_cost=100, name="Jacket")
    services.points_earn(partner=partner_a, points=500)
    services.redemption_request(partner=partner_a, user=admin_a, reward=reward)
    with pytest.raises(ValidationError) as refused:
        services.reward_delete(reward=reward)
    assert refused.value.messages == ["“Jacket” was redeemed, so it cannot be deleted; deactivate it instead."]
    assert Reward.objects.filter(pk=reward.pk).exists()


def test_a_bad_reward_is_refused_with_field_errors_and_nothing_is_written():
    with pytest.raises(ValidationError) as refused:
        services.reward_create(name="", kind="merchandise", points_cost=0)
    assert set(refused.value.message_dict) == {"name", "points_cost"}
    assert not Reward.objects.exists()
    assert not AuditEntry.objects.exists()


def test_tier_rule_save_creates_then_updates_with_an_audit_entry_each(manager_user):
    gold = TierFactory(rank=2, name="Gold")
    rule = services.tier_rule_save(tier=gold, by=manager_user, min_revenue=Decimal("100000"))
    services.tier_rule_save(tier=gold, by=manager_user, min_revenue=Decimal("120000"), min_certified_contacts=2)
    rule.refresh_from_db()
    assert (rule.min_revenue, rule.min_certified_contacts) == (Decimal("120000.00"), 2)
    assert _entries(rule) == [("tier_rule_create", manager_user.email), ("tier_rule_update", manager_user.email)]
    update = AuditEntry.objects.get(action="tier_rule_update")
    assert (update.before["min_revenue"], update.after["min_revenue"]) == ("100000.00", "120000.00")


def test_rule_writes_are_audited_and_refused_once_the_program_runs(manager_user):
    program = ProgramFactory(status=ProgramStatus.DRAFT)
    rule = services.rule_add(program=program, kind=RuleKind.REVENUE_REBATE, params=REBATE, by=manager_user)
    services.rule_update(rule=rule, name="Base rebate", by=manager_user)
    assert [action for action, _actor in _entries(rule)] == ["rule_add", "rule_update"]
    services.program_activate(program=program, by=manager_user)
    rule.refresh_from_db()
    with pytest.raises(ValidationError):
        services.rule_delete(rule=rule, by=manager_user)
    assert Rule.objects.filter(pk=rule.pk).exists()


def test_only_a_draft_program_can_be_deleted(manager_user):
    running = ProgramFactory(status=ProgramStatus.ACTIVE)
    with pytest.raises(ValidationError) as refused:
        services.program_delete(program=running, by=manager_user)
    assert refused.value.messages == ["Only a draft program can be deleted; close a running program instead."]
    draft = ProgramFactory(status=ProgramStatus.DRAFT)
    draft_id = draft.pk
    services.program_delete(program=draft, by=manager_user)
    assert list(Program.objects.values_list("pk", flat=True)) == [running.pk]
    assert AuditEntry.objects.get(object_id=draft_id).action == "program_delete"


# --- manager pages --------------------------------------------------------------------------------


def test_the_reward_and_tier_rule_pages_write_through_the_services(manager_client, manager_user):
    response = manager_client.post(
        reverse("incentives:reward_create"), {"name": "Headset", "kind": "merchandise", "points_cost": "300", "is_active": "on"}
    )
    assert response.status_code == 302
    reward = Reward.objects.get(name="Headset")
    assert _entries(reward) == [("reward_create", manager_user.email)]
    gold = TierFactory(rank=2, name="Gold")
    response = manager_client.post(
        reverse("incentives:tier_rule", args=[gold.pk]),
        {
            "min_revenue": "50000",
            "min_certified_contacts": "1",
            "min_approved_deals": "0",
            "min_loyalty_score": "",
            "downgrade_grace_months": "",
        },
    )
    assert response.status_code == 302
    assert _entries(TierRule.objects.get(tier=gold)) == [("tier_rule_create", manager_user.email)]


def test_deleting_a_redeemed_reward_on_the_page_says_why_and_keeps_it(manager_client, partner_a, admin_a):
    reward = RewardFactory(points_cost=100, name="Jacket")
    services.points_earn(partner=partner_a, points=500)
    services.redemption_request(partner=partner_a, user=admin_a, reward=reward)
    response = manager_client.post(reverse("incentives:reward_delete", args=[reward.pk]), follow=True)
    assert "“Jacket” was redeemed, so it cannot be deleted; deactivate it instead." in response.content.decode()
    assert Reward.objects.filter(pk=reward.pk).exists()


# --- the re-evaluation button and the nightly run ------------------------------------------------------


@pytest.fixture
def gold_needs_a_score(partner_a):
    """Partner A meets Gold's revenue, certification and deal minimums; Gold also asks a score of 70."""
    silver, gold = TierFactory(rank=1, name="Silver"), TierFactory(rank=2, name="Gold")
    TierRule.objects.create(tier=silver)
    TierRule.objects.create(tier=gold, min_revenue=Decimal("100000"), min_loyalty_score=Decimal("70"))
    partner_a.tier = silver
    partner_a.save()
    today = timezone.localdate()
    day = today.replace(day=1) - timedelta(days=20)
    SaleFactory(partner=partner_a, amount=Decimal("120000"), invoice_date=day)
    rollups.refresh({(partner_a.pk, day.replace(day=1))})
    CertificationFactory(contact__partner=partner_a, earned_on=day)
    DealRegistration.objects.create(partner=partner_a, title="Campus Wi-Fi", status=DealStatus.APPROVED, registered_on=day)
    return silver, gold


def _snapshot(partner, score, day):
    model = kpi_services.score_model_current()
    ScoreSnapshot.objects.create(partner=partner, date=day, score_model=model, score=Decimal(score), band=model.band_for(Decimal(score)))


def test_kpis_provides_the_loyalty_scores_to_incentives(partner_a):
    today = timezone.localdate()
    _snapshot(partner_a, "40", today - timedelta(days=3))
    _snapshot(partner_a, "75", today - timedelta(days=1))
    _snapshot(partner_a, "10", today + timedelta(days=1))
    assert providers.loyalty_scores(on_date=today) == {partner_a.pk: Decimal("75.00")}


@pytest.mark.parametrize(("score", "moves_up"), [("65", False), ("72", True)])
def test_the_button_judges_the_score_like_the_nightly_run(manager_client, gold_needs_a_score, partner_a, score, moves_up):
    silver, gold = gold_needs_a_score
    today = timezone.localdate()
    _snapshot(partner_a, score, today)
    manager_client.post(reverse("incentives:tier_evaluate"))
    partner_a.refresh_from_db()
    assert partner_a.tier == (gold if moves_up else silver)
    partner_a.tier = silver
    partner_a.save()
    assert bool(kpi_services.scores_finish(on_date=today)) == moves_up


# --- Django admin ---------------------------------------------------------------------------------


def _program_form(program, **changes):
    data = {
        "name": program.name,
        "description": program.description,
        "period": program.period,
        "starts_on": program.starts_on.isoformat(),
        "ends_on": program.ends_on.isoformat(),
        "earning_basis": program.earning_basis,
        "budget": "" if program.budget is None else str(program.budget),
        "points_expiry_months": "" if program.points_expiry_months is None else str(program.points_expiry_months),
        "partner_types": list(program.partner_types),
        "rules-TOTAL_FORMS": "0",
        "rules-INITIAL_FORMS": "0",
        "periods-TOTAL_FORMS": "0",
        "periods-INITIAL_FORMS": "0",
    }
    return data | changes


def test_the_admin_shows_an_active_programs_rules_and_status_read_only(admin_client):
    rule = RuleFactory(params=REBATE)
    program = rule.program
    page = admin_client.get(_admin(Program, "change", program.pk)).content.decode()
    assert 'name="rules-0-params"' not in page
    assert 'name="status"' not in page
    assert 'name="starts_on"' not in page
    assert 'name="name"' in page
    assert admin_client.get(_admin(Rule, "change", rule.pk)).status_code == 200
    response = admin_client.post(_admin(Rule, "change", rule.pk), {"program": program.pk, "kind": rule.kind, "params": "{}", "position": 0})
    assert response.status_code == 403
    rule.refresh_from_db()
    assert rule.params == REBATE


def test_an_admin_change_of_a_running_program_goes_through_the_service(admin_client, admin_user):
    program = RuleFactory(params=REBATE).program
    old_name = program.name
    response = admin_client.post(_admin(Program, "change", program.pk), _program_form(program, name="Renamed", starts_on="2020-01-01"))
    assert response.status_code == 302
    program.refresh_from_db()
    assert (program.name, program.starts_on, program.status) == ("Renamed", date(2026, 1, 1), ProgramStatus.ACTIVE)
    entry = AuditEntry.objects.get(action="program_update")
    assert (entry.actor, entry.before["name"], entry.after["name"]) == (admin_user, old_name, "Renamed")
    assert admin_client.post(_admin(Program, "delete", program.pk), {"post": "yes"}).status_code == 403


def test_admin_rules_of_a_draft_program_are_added_through_the_service(admin_client, admin_user):
    program = ProgramFactory(status=ProgramStatus.DRAFT)
    data = _program_form(program) | {
        "rules-TOTAL_FORMS": "1",
        "rules-0-position": "1",
        "rules-0-kind": RuleKind.REVENUE_REBATE,
        "rules-0-name": "Base",
        "rules-0-params": '{"mode": "marginal", "brackets": [{"from": "0", "to": null, "rate": "3"}]}',
    }
    assert admin_client.post(_admin(Program, "change", program.pk), data).status_code == 302
    rule = program.rules.get()
    assert (rule.name, rule.params["brackets"][0]["rate"]) == ("Base", "3")
    assert _entries(rule) == [("rule_add", admin_user.email)]


def test_a_service_refusal_in_the_admin_is_a_message_and_nothing_changes(admin_client):
    program = RuleFactory(params=REBATE).program
    services.periods_ensure(program=program, today=date(2026, 4, 2))
    services.period_close(period=program.periods.get(starts_on=date(2026, 1, 1)), today=date(2026, 4, 2))
    response = admin_client.post(_admin(Program, "change", program.pk), _program_form(program, ends_on="2026-02-28"), follow=True)
    assert response.status_code == 200
    assert "The program cannot end before a period that is already closed." in response.content.decode()
    program.refresh_from_db()
    assert program.ends_on == date(2026, 12, 31)
    assert not AuditEntry.objects.filter(action="program_update").exists()


def test_admin_tier_rule_and_score_model_saves_are_audited(admin_client, admin_user, partner_a):
    gold = TierFactory(rank=2, name="Gold")
    fields = {
        "min_revenue": "1000",
        "min_certified_contacts": "0",
        "min_approved_deals": "0",
        "min_loyalty_score": "",
        "downgrade_grace_months": "",
    }
    assert admin_client.post(_admin(TierRule, "add"), {"tier": gold.pk, **fields}).status_code == 302
    assert _entries(TierRule.objects.get(tier=gold)) == [("tier_rule_create", admin_user.email)]

    model = kpi_services.score_model_current()
    data = {
        "version": model.version,
        "name": "Recalibrated",
        "notes": "",
        "weights": '{"sales": 50, "engagement": 50}',
        "parameters": json.dumps(model.parameters),
        "healthy_min": "80",
        "watch_min": "50",
        "alert_below": "50",
        "alert_drop_points": "15",
        "alert_drop_days": "30",
    }
    assert admin_client.post(_admin(ScoreModel, "change", model.pk), data).status_code == 302
    model.refresh_from_db()
    assert (model.name, model.weights) == ("Recalibrated", {"sales": 50, "engagement": 50})
    assert _entries(model) == [("score_model_update", admin_user.email)]


def test_the_recipe_of_a_version_that_scored_partners_cannot_change(partner_a):
    model = kpi_services.score_model_current()
    _snapshot(partner_a, "50", date(2026, 1, 1))
    with pytest.raises(ValidationError):
        kpi_services.score_model_save(score_model=model, weights={"sales": 100})
    kpi_services.score_model_save(score_model=model, name="Renamed only")
    model.refresh_from_db()
    assert model.name == "Renamed only"
