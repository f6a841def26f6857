"""Browser journey of the KPI dashboards: a manager opens the channel overview, then a partner's scorecard."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from kpis import services
from kpis.models import Band, ScoreSnapshot
from tests.partners.factories import PASSWORD, ManagerFactory, PartnerFactory
from tests.sales.factories import SalesMonthFactory

from .conftest import assert_front_end_loaded, login

pytestmark = [pytest.mark.e2e]


def test_manager_opens_the_overview_and_a_scorecard(page):
    manager = ManagerFactory(username="maria@vendor.test")
    today = timezone.localdate()
    alpha = PartnerFactory(name="Alpha Resellers B.V.", joined_on=today - timedelta(days=800))
    SalesMonthFactory(partner=alpha, month=(today.replace(day=1) - timedelta(days=1)).replace(day=1), revenue=Decimal("150000"))
    ScoreSnapshot.objects.create(
        partner=alpha, date=today - timedelta(days=30), score_model=services.score_model_current(), score=Decimal("90"), band=Band.HEALTHY
    )
    services.scores_recompute(on_date=today)  # 45.71: a fall of 44 points, at risk, with an alert

    login(page, manager.username, PASSWORD, lands_on="/partners/")
    page.get_by_role("link", name="KPIs").click()
    page.wait_for_url("**/kpis/")
    expect(page.locator("#at-risk")).to_contain_text("Alpha Resellers B.V.")
    expect(page.locator("#movers-bottom")).to_contain_text("-44.3")
    # Chart.js drew the charts from the JSON block (no inline script).
    assert page.evaluate("typeof Chart") == "function"
    assert page.evaluate("Chart.getChart(document.getElementById('chart-scores')) !== undefined")
    assert_front_end_loaded(page)

    page.locator("#alerts").get_by_role("button", name="Acknowledge").first.click()
    expect(page.locator(".alert-success")).to_contain_text("acknowledged")

    page.locator("#at-risk").get_by_role("link", name="Alpha Resellers B.V.").click()
    page.wait_for_url(f"**/kpis/partners/{alpha.pk}/")
    expect(page.locator("#score")).to_contain_text("45.7")
    expect(page.locator("#explanation")).to_contain_text("Score fell 44 points")
    assert page.evaluate("Chart.getChart(document.getElementById('chart-components')) !== undefined")
