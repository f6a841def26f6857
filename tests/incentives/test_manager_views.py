"""The channel managers' incentive pages: roles, programs and rules, period close, payouts, rewards,
redemptions, tiers, and the query counts of the list pages."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from incentives import services
from incentives.models import (
    AuditEntry,
    EarningLine,
    LineKind,
    Payout,
    PayoutStatus,
    PointsEntry,
    Program,
    ProgramPeriod,
    ProgramStatus,
    Redemption,
    RedemptionStatus,
    Reward,
    Rule,
    RuleKind,
    TierChange,
    TierRule,
)
from sales.imports import rollups
from tests.partners.factories import PartnerFactory, TierFactory, with_form_token
from tests.sales.factories import SaleFactory
from tests.security.test_route_coverage import ROUTES

from .factories import EarningLineFactory, PeriodFactory, ProgramFactory, RewardFactory, RuleFactory, give_points, payout_for

pytestmark = pytest.mark.django_db
D = Decimal
BRACKETS = {"mode": "marginal", "brackets": [{"from": "0", "to": "100000", "rate": "2"}, {"from": "100000", "to": None, "rate": "4"}]}


def html(response):
    return response.content.decode()


def sale(partner, amount, day=date(2026, 2, 10)):
    SaleFactory(partner=partner, amount=D(amount), invoice_date=day)
    rollups.refresh({(partner.pk, day.replace(day=1))})


@pytest.fixture
def draft():
    return ProgramFactory(name="Spring rebate", status=ProgramStatus.DRAFT)


@pytest.fixture
def world(partner_a, admin_a, draft):
    """One object of every kind the manager pages take an id of."""
    program = RuleFactory(program__name="Running rebate").program
    period = PeriodFactory(program=program)
    reward = RewardFactory(name="Gift card 50")
    give_points(partner_a, 500)
    return {
        "pk": program.pk,
        "program": program,
        "draft": draft,
        "rule": RuleFactory(program=draft),
        "period": period,
        "payout": payout_for(partner_a, program=program),
        "reward": reward,
        "redemption": services.redemption_request(partner=partner_a, user=admin_a, reward=reward),
        "tier": TierFactory(name="Gold", rank=3),
    }


INCENTIVE_ROUTES = sorted((name, kwargs) for name, route, kwargs, _ in ROUTES if name and name.startswith("incentives:"))


def _url(name, kwargs, world):
    values = {}
    for kwarg in kwargs:
        if kwarg == "pk":
            kind = name.split(":")[1].split("_")[0]
            kind = kind if kind in ("payout", "reward", "redemption") else "program"
            values["pk"] = world[kind].pk
            if name.startswith("incentives:rule_"):
                values["pk"] = world["draft"].pk
        elif kwarg == "rule_pk":
            values[kwarg] = world["rule"].pk
        elif kwarg == "period_pk":
            values[kwarg] = world["period"].pk
        elif kwarg == "tier_pk":
            values[kwarg] = world["tier"].pk
        else:
            pytest.fail(f"{name}: add how to build the URL keyword {kwarg!r} to test_manager_views._url.")
    url = reverse(name, kwargs=values)
    return url + "?kind=spiff" if name == "incentives:rule_create" else url


def test_the_manager_ui_has_its_routes():
    assert len(INCENTIVE_ROUTES) >= 25


# --- roles ------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["admin_a", "user_a"])
def test_partner_users_get_403_everywhere(request, persona, world):
    client = Client()
    client.force_login(request.getfixturevalue(persona))
    before = (Program.objects.count(), Rule.objects.count(), list(Payout.objects.values_list("status", flat=True)), Reward.objects.count())
    for name, kwargs in INCENTIVE_ROUTES:
        url = _url(name, kwargs, world)
        assert client.get(url).status_code == 403, name
        assert client.post(url, {"name": "Taken over", "reason": "x", "reference": "x", "points_cost": "1"}).status_code == 403, name
    after = (Program.objects.count(), Rule.objects.count(), list(Payout.objects.values_list("status", flat=True)), Reward.objects.count())
    assert after == before


def test_anonymous_users_are_sent_to_the_login_page(client, world):
    for name, kwargs in INCENTIVE_ROUTES:
        response = client.get(_url(name, kwargs, world))
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("login")), name


@pytest.mark.parametrize(("name", "kwargs"), INCENTIVE_ROUTES, ids=[name for name, _ in INCENTIVE_ROUTES])
def test_every_page_opens_for_a_manager(manager_client, name, kwargs, world):
    response = manager_client.get(_url(name, kwargs, world))
    assert response.status_code in (200, 302), (name, response.status_code)


def test_staff_without_the_incentive_permissions_is_refused(world):
    from django.contrib.auth.models import Permission

    from tests.partners.factories import UserFactory

    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_partner"))
    client = Client()
    client.force_login(staff)
    assert client.get(reverse("incentives:list")).status_code == 403
    assert client.post(reverse("incentives:payout_approve", args=[world["payout"].pk])).status_code == 403
    assert Payout.objects.get(pk=world["payout"].pk).status == PayoutStatus.PENDING


def test_the_navigation_links_to_incentives_for_managers_only(manager_client, client_a):
    assert reverse("incentives:list") in html(manager_client.get(reverse("partners:list")))


# --- programs ---------------------------------------------------------------------------------


class TestProgramList:
    def test_search_and_status_filter(self, manager_client, draft):
        ProgramFactory(name="Winter points", status=ProgramStatus.ACTIVE)
        ProgramFactory(name="Old rebate", status=ProgramStatus.CLOSED)
        page = html(manager_client.get(reverse("incentives:list"), {"q": "winter"}))
        assert "Winter points" in page
        assert "Spring rebate" not in page
        page = html(manager_client.get(reverse("incentives:list"), {"status": "draft"}))
        assert "Spring rebate" in page
        assert "Winter points" not in page
        assert "Old rebate" not in page

    def test_a_bad_filter_is_ignored(self, manager_client, draft):
        response = manager_client.get(reverse("incentives:list"), {"status": "nonsense", "page": "x"})
        assert response.status_code == 200
        assert "Spring rebate" in html(response)

    def test_empty_state(self, manager_client):
        page = html(manager_client.get(reverse("incentives:list")))
        assert 'id="empty-state"' in page
        assert "Create the first program" in page
        page = html(manager_client.get(reverse("incentives:list"), {"q": "nothing"}))
        assert "No programs match these filters." in page

    def test_pagination(self, manager_client, settings):
        settings.PARTNERLOOP_PAGE_SIZE = 2
        for n in range(5):
            ProgramFactory(name=f"Program {n}")
        page = html(manager_client.get(reverse("incentives:list"), {"page": 3}))
        assert "Page 3 of 3" in page

    def test_query_count_does_not_grow_with_programs(self, manager_client, django_assert_max_num_queries):
        for n in range(3):
            RuleFactory(program=ProgramFactory(name=f"Program {n}"))
        with django_assert_max_num_queries(8):  # session, user, group perms, user perms, count, page; margin for the nav
            manager_client.get(reverse("incentives:list"))
        for n in range(20):
            RuleFactory(program=ProgramFactory(name=f"More {n}"))
        with django_assert_max_num_queries(8):
            assert manager_client.get(reverse("incentives:list")).status_code == 200


class TestProgramForm:
    def test_create_a_draft(self, manager_client, partner_a):
        tier = TierFactory(name="Silver", rank=2)
        response = manager_client.post(
            reverse("incentives:create"),
            {
                "name": "Summer push",
                "description": "Sell more",
                "period": "quarterly",
                "starts_on": "2027-01-01",
                "ends_on": "2027-12-31",
                "earning_basis": "paid",
                "budget": "50000",
                "points_expiry_months": "12",
                "partner_types": ["reseller", "var"],
                "tiers": [tier.pk],
                "partners": [partner_a.pk],
            },
        )
        program = Program.objects.get(name="Summer push")
        assert response.status_code == 302
        assert response["Location"] == reverse("incentives:detail", args=[program.pk])
        assert program.status == ProgramStatus.DRAFT
        assert program.partner_types == ["reseller", "var"]
        assert list(program.tiers.all()) == [tier]
        assert list(program.partners.all()) == [partner_a]
        assert AuditEntry.objects.filter(action="program_create", object_id=program.pk).exists()

    def test_end_before_start_is_refused(self, manager_client):
        response = manager_client.post(
            reverse("incentives:create"),
            {
                "name": "Backwards",
                "period": "quarterly",
                "starts_on": "2027-06-01",
                "ends_on": "2027-01-01",
                "earning_basis": "invoiced",
                "points_expiry_months": "24",
            },
        )
        assert response.status_code == 400
        assert "The end date cannot be before the start date." in html(response)
        assert not Program.objects.filter(name="Backwards").exists()

    def test_a_running_program_only_changes_its_texts(self, manager_client, world):
        program = world["program"]
        response = manager_client.get(reverse("incentives:edit", args=[program.pk]))
        assert "only the name, description, budget and end date can change" in html(response)
        response = manager_client.post(
            reverse("incentives:edit", args=[program.pk]),
            {
                "name": "Renamed rebate",
                "description": "New text",
                "budget": "1000",
                "ends_on": "2026-12-31",
                "period": "monthly",
                "starts_on": "2020-01-01",
                "earning_basis": "paid",
                "points_expiry_months": "1",
            },
        )
        assert response.status_code == 302
        program.refresh_from_db()
        assert (program.name, program.budget, program.period, program.starts_on) == (
            "Renamed rebate",
            D("1000"),
            "quarterly",
            date(2026, 1, 1),
        )


class TestProgramDetail:
    def test_rules_show_their_explanations(self, manager_client, draft):
        RuleFactory(program=draft, params=BRACKETS)
        page = html(manager_client.get(reverse("incentives:detail", args=[draft.pk])))
        assert "2% on revenue up to 100,000; 4% on revenue above 100,000 (each rate on its own slice)" in page
        assert reverse("incentives:activate", args=[draft.pk]) in page

    def test_activate_needs_a_rule(self, manager_client, draft):
        response = manager_client.post(reverse("incentives:activate", args=[draft.pk]), follow=True)
        assert "Add at least one rule before activating the program." in html(response)
        draft.refresh_from_db()
        assert draft.status == ProgramStatus.DRAFT

    def test_activate_after_confirmation(self, manager_client, draft):
        RuleFactory(program=draft)
        confirm = manager_client.get(reverse("incentives:activate", args=[draft.pk]))
        assert 'id="confirmation"' in html(confirm)
        draft.refresh_from_db()
        assert draft.status == ProgramStatus.DRAFT  # the GET only asks
        response = manager_client.post(reverse("incentives:activate", args=[draft.pk]), follow=True)
        assert "Program “Spring rebate” is active." in html(response)
        draft.refresh_from_db()
        assert draft.status == ProgramStatus.ACTIVE

    def test_close_a_program(self, manager_client, world):
        response = manager_client.post(reverse("incentives:close", args=[world["pk"]]), follow=True)
        assert "is closed." in html(response)
        assert Program.objects.get(pk=world["pk"]).status == ProgramStatus.CLOSED


class TestRules:
    def url(self, program, kind=RuleKind.REVENUE_REBATE):
        return reverse("incentives:rule_create", args=[program.pk]) + f"?kind={kind}"

    def brackets(self, *rows, mode="marginal"):
        data = {"kind": "revenue_rebate", "name": "", "mode": mode, "brackets-TOTAL_FORMS": str(len(rows)), "brackets-INITIAL_FORMS": "0"}
        for index, (start, end, rate) in enumerate(rows):
            data |= {f"brackets-{index}-start": start, f"brackets-{index}-end": end, f"brackets-{index}-rate": rate}
        return data

    def test_the_form_offers_bracket_rows(self, manager_client, draft):
        page = html(manager_client.get(self.url(draft)))
        assert 'name="brackets-0-start"' in page
        assert 'name="brackets-1-rate"' in page

    def test_good_brackets_are_saved(self, manager_client, draft):
        response = manager_client.post(self.url(draft), self.brackets(("0", "100000", "2"), ("100000", "", "4")))
        assert response.status_code == 302
        rule = Rule.objects.get(program=draft)
        assert rule.params["brackets"] == [{"from": "0", "to": "100000", "rate": "2"}, {"from": "100000", "to": None, "rate": "4"}]

    @pytest.mark.parametrize(
        ("rows", "message"),
        [
            (
                (("0", "100000", "2"), ("90000", "", "4")),
                "Brackets 1 and 2 overlap: bracket 2 starts at 90,000, before bracket 1 ends at 100,000.",
            ),
            ((("0", "100000", "-2"), ("100000", "", "4")), "The rate of bracket 1 cannot be negative."),
            ((("0", "100000", "2"),), "The last bracket must be open-ended"),
        ],
    )
    def test_bad_brackets_show_the_message_and_save_nothing(self, manager_client, draft, rows, message):
        response = manager_client.post(self.url(draft), self.brackets(*rows))
        assert response.status_code == 400
        assert message in html(response)
        assert "nothing was saved" in html(response)
        assert not Rule.objects.filter(program=draft).exists()

    def test_a_non_number_is_a_field_error(self, manager_client, draft):
        response = manager_client.post(self.url(draft), self.brackets(("0", "abc", "2"), ("100000", "", "4")))
        assert response.status_code == 400
        assert "Enter a number." in html(response)
        assert not Rule.objects.exists()

    def test_every_kind_has_a_form(self, manager_client, draft):
        for kind in RuleKind.values:
            assert manager_client.get(self.url(draft, kind)).status_code == 200, kind
        assert manager_client.get(self.url(draft, "bogus")).status_code == 404

    def test_a_growth_bonus(self, manager_client, draft):
        data = {"kind": "growth_bonus", "min_growth_percent": "10", "bonus_type": "fixed", "bonus": "1500"}
        response = manager_client.post(self.url(draft, RuleKind.GROWTH_BONUS), data, follow=True)
        assert "A bonus of 1,500 when revenue grows at least 10% over the same period last year" in html(response)
        assert Rule.objects.get(program=draft).params == {"min_growth_percent": "10", "bonus_type": "fixed", "bonus": "1500"}

    def test_spiff_needs_a_sku_or_a_category(self, manager_client, draft):
        response = manager_client.post(self.url(draft, RuleKind.SPIFF), {"kind": "spiff", "amount_per_unit": "5"})
        assert response.status_code == 400
        assert "Give either a SKU or a category" in html(response)

    def test_a_parameter_error_is_shown_beside_its_field(self, manager_client, draft):
        data = {"kind": "mdf", "name": "", "percent": "-1", "cap": "0"}
        response = manager_client.post(self.url(draft, RuleKind.MDF), data)
        assert response.status_code == 400
        form = response.context["form"]
        assert form.errors == {"percent": ["The MDF percentage cannot be negative."], "cap": ["The cap must be more than 0."]}
        page = html(response)
        # crispy renders the message under the input it belongs to, and marks that input invalid
        assert '<span id="error_1_id_percent"><strong>The MDF percentage cannot be negative.</strong></span>' in page
        assert 'aria-describedby="id_percent_error" id="id_percent"' in page
        assert 'id="error_1_id_cap"' in page
        assert 'id="rule-errors"' not in page  # nothing left at the top of the form
        assert "nothing was saved" in page
        assert not Rule.objects.exists()

    def test_each_growth_bonus_error_beside_its_field(self, manager_client, draft):
        data = {"kind": "growth_bonus", "min_growth_percent": "-5", "bonus_type": "fixed", "bonus": "0"}
        response = manager_client.post(self.url(draft, RuleKind.GROWTH_BONUS), data)
        assert response.status_code == 400
        assert response.context["form"].errors == {
            "min_growth_percent": ["The minimum growth cannot be negative."],
            "bonus": ["The bonus must be more than 0."],
        }
        assert not Rule.objects.exists()

    def test_a_sku_and_a_category_is_an_error_on_the_sku(self, manager_client, draft):
        data = {"kind": "spiff", "sku": "RTR-100", "category": "Routers", "amount_per_unit": "5"}
        response = manager_client.post(self.url(draft, RuleKind.SPIFF), data)
        assert response.status_code == 400
        assert response.context["form"].errors == {"sku": ["Give either a SKU or a category (parameter “sku” or “category”), not both."]}
        assert 'id="error_1_id_sku"' in html(response)

    def test_bracket_errors_are_shown_above_the_rows(self, manager_client, draft):
        response = manager_client.post(self.url(draft), self.brackets(("0", "100000", "2"), ("90000", "", "4")))
        assert response.status_code == 400
        form = response.context["form"]
        assert form.errors == {}
        assert list(form.brackets.non_form_errors()) == [
            "Brackets 1 and 2 overlap: bracket 2 starts at 90,000, before bracket 1 ends at 100,000."
        ]
        page = html(response)
        assert page.index('id="bracket-errors"') < page.index("Brackets 1 and 2 overlap") < page.index('id="brackets"')
        assert not Rule.objects.exists()

    def test_an_edit_with_a_bad_parameter_keeps_the_rule(self, manager_client, draft):
        rule = RuleFactory(program=draft, kind=RuleKind.MDF, params={"percent": "2"})
        response = manager_client.post(reverse("incentives:rule_edit", args=[draft.pk, rule.pk]), {"kind": "mdf", "percent": "-3"})
        assert response.status_code == 400
        assert response.context["form"].errors == {"percent": ["The MDF percentage cannot be negative."]}
        rule.refresh_from_db()
        assert rule.params == {"percent": "2"}

    def test_edit_keeps_the_brackets_and_delete_asks_first(self, manager_client, draft):
        rule = RuleFactory(program=draft, params=BRACKETS)
        page = html(manager_client.get(reverse("incentives:rule_edit", args=[draft.pk, rule.pk])))
        assert 'value="100000' in page
        response = manager_client.post(
            reverse("incentives:rule_edit", args=[draft.pk, rule.pk]), self.brackets(("0", "50000", "1"), ("50000", "", "3"), mode="whole")
        )
        assert response.status_code == 302
        rule.refresh_from_db()
        assert rule.params["mode"] == "whole"
        assert rule.params["brackets"][0]["to"] == "50000"
        assert 'id="confirmation"' in html(manager_client.get(reverse("incentives:rule_delete", args=[draft.pk, rule.pk])))
        manager_client.post(reverse("incentives:rule_delete", args=[draft.pk, rule.pk]))
        assert not Rule.objects.filter(pk=rule.pk).exists()

    def test_rules_of_a_running_program_cannot_change(self, manager_client, world):
        program, rule = world["program"], world["program"].rules.first()
        response = manager_client.post(
            reverse("incentives:rule_edit", args=[program.pk, rule.pk]), self.brackets(("0", "", "9")), follow=True
        )
        assert "cannot change: partners rely on the published criteria" in html(response)
        manager_client.post(reverse("incentives:rule_delete", args=[program.pk, rule.pk]))
        assert Rule.objects.get(pk=rule.pk).params == rule.params


# --- periods ----------------------------------------------------------------------------------


class TestPeriodClose:
    def test_the_close_button_writes_the_earnings_once(self, manager_client, partner_a, manager_user):
        program = RuleFactory(program__name="Q1 rebate").program
        services.periods_ensure(program=program, today=date(2026, 4, 2))
        period = ProgramPeriod.objects.get(program=program, starts_on=date(2026, 1, 1))
        sale(partner_a, "110000")
        detail = html(manager_client.get(reverse("incentives:detail", args=[program.pk])))
        assert "Close period" in detail

        assert 'id="confirmation"' in html(manager_client.get(reverse("incentives:period_close", args=[program.pk, period.pk])))
        assert not EarningLine.objects.exists()

        response = manager_client.post(reverse("incentives:period_close", args=[program.pk, period.pk]), follow=True)
        page = html(response)
        assert response.redirect_chain[-1][0] == reverse("incentives:period", args=[program.pk, period.pk])
        assert "Period closed. 1 earning line written for 1 partners: 2,400.00 in money and 0 points." in page
        assert "Revenue 110,000: 2% on 100,000 + 4% on 10,000" in page
        line = EarningLine.objects.get()
        assert (line.partner, line.amount, line.kind) == (partner_a, D("2400.00"), LineKind.NORMAL)
        period.refresh_from_db()
        assert period.closed_by == manager_user

        again = manager_client.post(reverse("incentives:period_close", args=[program.pk, period.pk]), follow=True)
        assert "Nothing changed: every earning of this period is already in the ledger." in html(again)
        assert EarningLine.objects.count() == 1

    def test_a_running_period_cannot_be_closed(self, manager_client):
        program = RuleFactory().program
        period = PeriodFactory(program=program, starts_on=date(2026, 10, 1), ends_on=date(2099, 12, 31), closed_at=None, calculated_at=None)
        response = manager_client.post(reverse("incentives:period_close", args=[program.pk, period.pk]), follow=True)
        assert "it can be closed from the next day" in html(response)
        assert not EarningLine.objects.exists()

    def test_earnings_page_lists_the_lines(self, manager_client, partner_a, partner_b):
        period = PeriodFactory()
        EarningLineFactory(partner=partner_a, period=period, amount=D("100"), reason="Alpha reason")
        EarningLineFactory(partner=partner_b, period=period, amount=D("50.50"), reason="Beta reason")
        page = html(manager_client.get(reverse("incentives:period", args=[period.program.pk, period.pk])))
        assert "Alpha reason" in page
        assert "Beta reason" in page
        assert "2 lines: 150.50 earned and 0 points." in page
        page = html(manager_client.get(reverse("incentives:period", args=[period.program.pk, period.pk]), {"partner": partner_b.pk}))
        assert "Alpha reason" not in page
        assert "Beta reason" in page


class TestEvaluation:
    def test_roi_of_the_closed_periods(self, manager_client, partner_a):
        period = PeriodFactory()
        EarningLineFactory(partner=partner_a, period=period, amount=D("1200"))
        sale(partner_a, "60000")
        page = html(manager_client.get(reverse("incentives:roi", args=[period.program.pk])))
        assert 'data-figure="cost">1,200.00' in page
        assert "Alpha Resellers B.V." in page
        page = html(manager_client.get(reverse("incentives:detail", args=[period.program.pk])))
        assert 'id="roi"' in page

    def test_roi_without_a_closed_period(self, manager_client, draft):
        assert "No closed period yet" in html(manager_client.get(reverse("incentives:roi", args=[draft.pk])))

    def test_simulation_shows_cost_and_writes_nothing(self, manager_client, draft, partner_a, partner_b):
        RuleFactory(program=draft, params=BRACKETS)
        sale(partner_a, "150000")
        sale(partner_b, "50000")
        response = manager_client.get(reverse("incentives:simulate", args=[draft.pk]), {"starts_on": "2026-01-01", "ends_on": "2026-03-31"})
        page = html(response)
        assert response.status_code == 200
        # A: 2% of 100,000 + 4% of 50,000 = 4,000; B: 2% of 50,000 = 1,000
        assert 'data-figure="cost">5,000.00' in page
        assert "Alpha Resellers B.V." in page
        assert "Beta Distribution GmbH" in page
        assert not EarningLine.objects.exists()
        assert not ProgramPeriod.objects.exists()

    def test_simulation_refuses_a_period_that_has_not_ended(self, manager_client, draft):
        RuleFactory(program=draft)
        response = manager_client.get(reverse("incentives:simulate", args=[draft.pk]), {"starts_on": "2026-01-01", "ends_on": "2099-03-31"})
        assert response.status_code == 400
        assert "Simulate a period that has ended" in html(response)


# --- payouts ----------------------------------------------------------------------------------


class TestPayouts:
    def test_batch_approve_pay_through_the_ui(self, manager_client, partner_a, manager_user):
        period = PeriodFactory()
        EarningLineFactory(partner=partner_a, period=period, amount=D("700"))
        EarningLineFactory(partner=partner_a, period=period, amount=D("500"))
        assert "2 unpaid cash lines of closed periods (1,200.00)" in html(manager_client.get(reverse("incentives:payouts")))

        response = manager_client.post(reverse("incentives:payout_create"), follow=True)
        assert "1 payout created, 1,200.00 in all, waiting for approval." in html(response)
        payout = Payout.objects.get()
        assert (payout.partner, payout.amount, payout.status) == (partner_a, D("1200.00"), PayoutStatus.PENDING)

        url = reverse("incentives:payout_approve", args=[payout.pk])
        manager_client.post(url, with_form_token(manager_client, url))
        payout.refresh_from_db()
        assert payout.status == PayoutStatus.APPROVED
        assert payout.approved_by == manager_user

        url = reverse("incentives:payout_paid", args=[payout.pk])
        missing = manager_client.post(url, with_form_token(manager_client, url, {"reference": "  "}))
        assert missing.status_code == 400
        assert "This field is required." in html(missing)
        manager_client.post(url, with_form_token(manager_client, url, {"reference": "SEPA-0042"}))
        payout.refresh_from_db()
        assert (payout.status, payout.reference) == (PayoutStatus.PAID, "SEPA-0042")

        page = html(manager_client.get(reverse("incentives:payout", args=[payout.pk])))
        assert page.count("payout_") >= 3  # create, approve, paid in the audit trail
        assert "SEPA-0042" in page
        assert manager_user.get_full_name() in page

    def test_reject_needs_a_reason_and_releases_the_lines(self, manager_client, partner_a):
        payout = payout_for(partner_a)
        url = reverse("incentives:payout_reject", args=[payout.pk])
        response = manager_client.post(url, with_form_token(manager_client, url, {"reason": ""}))
        assert response.status_code == 400
        assert Payout.objects.get(pk=payout.pk).status == PayoutStatus.PENDING
        manager_client.post(url, with_form_token(manager_client, url, {"reason": "Wrong bank account"}))
        payout.refresh_from_db()
        assert (payout.status, payout.reason) == (PayoutStatus.REJECTED, "Wrong bank account")
        assert EarningLine.objects.get(pk=payout.line_ids[0]).payout is None

    def test_a_paid_payout_cannot_be_approved_again(self, manager_client, partner_a):
        payout = payout_for(partner_a, status=PayoutStatus.PAID, reference="X1")
        url = reverse("incentives:payout_approve", args=[payout.pk])
        response = manager_client.post(url, with_form_token(manager_client, url), follow=True)
        assert "Only a pending payout can be approved; this one is Paid." in html(response)

    def test_status_filter_and_csv_export(self, manager_client, partner_a, partner_b):
        payout_for(partner_a, amount="10.00")
        payout_for(partner_b, amount="20.00", status=PayoutStatus.APPROVED)
        page = html(manager_client.get(reverse("incentives:payouts"), {"status": "approved"}))
        assert "Beta Distribution GmbH" in page
        assert "Alpha Resellers B.V." not in page
        response = manager_client.get(reverse("incentives:payouts"), {"status": "approved", "export": "csv"})
        assert response["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        assert len(rows) == 2
        assert rows[1][1] == "Beta Distribution GmbH"
        assert rows[1][4] == "20.00"

    def test_query_count_does_not_grow_with_payouts(self, manager_client, django_assert_max_num_queries):
        for _ in range(3):
            payout_for(PartnerFactory())
        with django_assert_max_num_queries(10):
            manager_client.get(reverse("incentives:payouts"))
        for _ in range(15):
            payout_for(PartnerFactory(), status=PayoutStatus.APPROVED)
        with django_assert_max_num_queries(10):
            assert manager_client.get(reverse("incentives:payouts")).status_code == 200


# --- rewards and redemptions ------------------------------------------------------------------


class TestRewards:
    def test_create_edit_and_delete(self, manager_client):
        gold = TierFactory(name="Gold", rank=3)
        response = manager_client.post(
            reverse("incentives:reward_create"),
            {
                "name": "Trip to Lisbon",
                "kind": "travel",
                "points_cost": "30000",
                "stock": "4",
                "tiers": [gold.pk],
                "approval_threshold": "20000",
                "is_active": "on",
            },
        )
        assert response.status_code == 302
        reward = Reward.objects.get(name="Trip to Lisbon")
        assert (reward.stock, list(reward.tiers.all()), reward.approval_threshold) == (4, [gold], 20000)
        manager_client.post(
            reverse("incentives:reward_edit", args=[reward.pk]), {"name": "Trip to Porto", "kind": "travel", "points_cost": "25000"}
        )
        reward.refresh_from_db()
        assert (reward.name, reward.stock, reward.is_active) == ("Trip to Porto", None, False)
        manager_client.post(reverse("incentives:reward_delete", args=[reward.pk]))
        assert not Reward.objects.filter(pk=reward.pk).exists()

    def test_zero_points_is_refused(self, manager_client):
        response = manager_client.post(reverse("incentives:reward_create"), {"name": "Free", "kind": "gift_card", "points_cost": "0"})
        assert response.status_code == 400
        assert not Reward.objects.exists()

    def test_a_redeemed_reward_is_not_deleted(self, manager_client, world):
        response = manager_client.post(reverse("incentives:reward_delete", args=[world["reward"].pk]), follow=True)
        assert "cannot be deleted; deactivate it instead" in html(response)
        assert Reward.objects.filter(pk=world["reward"].pk).exists()


class TestRedemptions:
    def test_approve_fulfil_reject(self, manager_client, partner_a, admin_a):
        give_points(partner_a, 1000)
        big = RewardFactory(name="Headphones", points_cost=600, approval_threshold=500, stock=3)
        waiting = services.redemption_request(partner=partner_a, user=admin_a, reward=big)
        assert waiting.status == RedemptionStatus.PENDING_APPROVAL
        page = html(manager_client.get(reverse("incentives:redemptions"), {"status": "pending_approval"}))
        assert "Headphones" in page
        assert reverse("incentives:redemption_approve", args=[waiting.pk]) in page

        for name in ("incentives:redemption_approve", "incentives:redemption_fulfil"):
            url = reverse(name, args=[waiting.pk])
            manager_client.post(url, with_form_token(manager_client, url))
        assert Redemption.objects.get(pk=waiting.pk).status == RedemptionStatus.FULFILLED

        other = services.redemption_request(partner=partner_a, user=admin_a, reward=RewardFactory(name="Mug", points_cost=300))
        url = reverse("incentives:redemption_reject", args=[other.pk])
        assert manager_client.post(url, with_form_token(manager_client, url, {"reason": ""})).status_code == 400
        response = manager_client.post(url, with_form_token(manager_client, url, {"reason": "Discontinued"}), follow=True)
        assert "300 points went back to the partner" in html(response)
        assert Redemption.objects.get(pk=other.pk).status == RedemptionStatus.REJECTED
        assert sum(PointsEntry.objects.filter(partner=partner_a).values_list("points", flat=True)) == 400

    def test_query_count_does_not_grow_with_redemptions(self, manager_client, django_assert_max_num_queries, admin_a, partner_a):
        give_points(partner_a, 100000)
        reward = RewardFactory(points_cost=10)
        for _ in range(3):
            services.redemption_request(partner=partner_a, user=admin_a, reward=reward)
        with django_assert_max_num_queries(10):
            manager_client.get(reverse("incentives:redemptions"))
        for _ in range(15):
            services.redemption_request(partner=partner_a, user=admin_a, reward=reward)
        with django_assert_max_num_queries(10):
            manager_client.get(reverse("incentives:redemptions"))


# --- tiers ------------------------------------------------------------------------------------


class TestTiers:
    def test_set_a_rule_and_re_evaluate(self, manager_client, partner_a):
        silver = TierFactory(name="Silver", rank=1)
        gold = TierFactory(name="Gold", rank=2)
        partner_a.tier = silver
        partner_a.save()
        TierRule.objects.create(tier=silver)
        sale(partner_a, "80000", day=date(2026, 10, 1))
        response = manager_client.post(
            reverse("incentives:tier_rule", args=[gold.pk]),
            {"min_revenue": "50000", "min_certified_contacts": "0", "min_approved_deals": "0"},
        )
        assert response.status_code == 302
        assert TierRule.objects.get(tier=gold).min_revenue == D("50000")
        bad = manager_client.post(reverse("incentives:tier_rule", args=[gold.pk]), {"min_revenue": "-1"})
        assert bad.status_code == 400

        assert 'id="confirmation"' in html(manager_client.get(reverse("incentives:tier_evaluate")))
        response = manager_client.post(reverse("incentives:tier_evaluate"), follow=True)
        assert "1 partner changed tier." in html(response)
        change = TierChange.objects.get()
        assert (change.from_tier, change.to_tier) == (silver, gold)
        assert "Qualifies for Gold." in html(response)
