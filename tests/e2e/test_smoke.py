"""Smoke journeys in a real browser: sign in, find a partner, log an interaction in place, the portal, the language switch.

Each journey signs in through the real login form and drives pages served by pytest-django's live
server (a transactional database; see conftest.py for the data the migrations put back).
"""

import re

import pytest
from playwright.sync_api import expect

from partners.models import MembershipRole
from tests.partners.factories import PASSWORD, ContactFactory, ManagerFactory, MembershipFactory, PartnerFactory

from .conftest import assert_front_end_loaded, login

pytestmark = [pytest.mark.e2e]


def test_manager_finds_a_partner_and_logs_an_interaction_in_place(page):
    manager = ManagerFactory(username="maria@vendor.test", first_name="Maria", last_name="Manager")
    alpha = PartnerFactory(name="Alpha Resellers B.V.")
    PartnerFactory(name="Beta Distribution GmbH")
    ContactFactory(partner=alpha, first_name="Anouk", last_name="de Vries", role="Sales lead")
    ContactFactory(partner=alpha, first_name="Bram", last_name="Jansen", role="Marketing")

    login(page, manager.username, PASSWORD, lands_on="/partners/")
    assert_front_end_loaded(page)
    expect(page.locator("#partner-table")).to_contain_text("Beta Distribution GmbH")

    page.fill("#partner-filters [name=q]", "alpha")
    page.click("#partner-filters [type=submit]")
    page.wait_for_url(re.compile(r"/partners/\?.*q=alpha"))
    table = page.locator("#partner-table")
    expect(table).to_contain_text("Alpha Resellers B.V.")
    expect(table).not_to_contain_text("Beta Distribution GmbH")

    table.get_by_role("link", name="Alpha Resellers B.V.").click()
    page.wait_for_url(f"**/partners/{alpha.pk}/")
    expect(page.locator("h1")).to_have_text("Alpha Resellers B.V.")
    contacts = page.locator("#contacts")
    expect(contacts).to_contain_text("Anouk de Vries")
    expect(contacts).to_contain_text("Bram Jansen")
    expect(page.locator("#timeline-empty")).to_be_visible()
    assert_front_end_loaded(page)

    # A full page load would drop this marker; an HTMX swap keeps it.
    page.evaluate("window.__sameDocument = true")
    detail_url = page.url
    form = page.locator("#interaction-form")
    form.locator("[name=kind]").select_option("meeting")
    form.locator("[name=summary]").fill("Quarterly planning with Anouk")
    with page.expect_response(lambda r: r.url.endswith(f"/partners/{alpha.pk}/interactions/") and r.request.method == "POST") as posted:
        form.locator("[type=submit]").click()
    assert posted.value.status == 200
    assert posted.value.request.headers.get("hx-request") == "true"

    entry = page.locator("#timeline li", has_text="Quarterly planning with Anouk")
    expect(entry).to_be_visible()
    expect(entry).to_contain_text("Meeting")
    expect(page.locator("#timeline-empty")).to_have_count(0)
    expect(page.locator("#interaction-form-wrapper [role=status]")).to_be_visible()
    expect(page.locator("#interaction-form [name=summary]")).to_have_value("")
    assert page.url == detail_url
    assert page.evaluate("window.__sameDocument") is True
    assert alpha.interactions.filter(summary="Quarterly planning with Anouk", author=manager).exists()


def test_partner_user_lands_on_its_own_portal(page):
    alpha = PartnerFactory(name="Alpha Resellers B.V.")
    PartnerFactory(name="Beta Distribution GmbH")
    user = MembershipFactory(partner=alpha, role=MembershipRole.USER, user__username="user@alpha.test").user

    login(page, user.username, PASSWORD, lands_on="/portal/")
    assert_front_end_loaded(page)
    expect(page.locator("h1")).to_have_text("Alpha Resellers B.V.")
    expect(page.locator("nav.navbar")).to_contain_text("Alpha Resellers B.V.")
    expect(page.locator("body")).not_to_contain_text("Beta Distribution")


def test_language_select_switches_the_page_to_dutch(page):
    page.goto("/accounts/login/")
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "en")

    page.select_option("#language-select", "nl")
    page.wait_for_url("**/accounts/login/")
    expect(html).to_have_attribute("lang", "nl")
    expect(page.locator("#language-select")).to_have_value("nl")

    page.goto("/accounts/login/")
    expect(html).to_have_attribute("lang", "nl")
