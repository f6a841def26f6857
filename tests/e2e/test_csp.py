"""The Content-Security-Policy in a real browser: pages work under it, and Chromium reports no violation.

tests/security/test_csp.py checks the header and the markup of every page; these journeys check what
only a browser shows: that Chart.js draws, that the tier colour and the import progress bar (data
attributes applied by static/js/data-styles.js, also after HTMX swaps) are painted, that the survey
form's 400 swap works without hx-on, and that Swagger UI and the admin load. Every violation is
caught twice: as a `securitypolicyviolation` event in the page and as Chromium's console message.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from kpis import services
from kpis.models import Band, ScoreSnapshot
from partners.models import MembershipRole, Partner
from sales.models import ImportChannel, ImportEntity, ImportJob, ImportStatus
from tests.partners.factories import PASSWORD, ManagerFactory, MembershipFactory, PartnerFactory, TierFactory, UserFactory
from tests.sales.factories import SalesMonthFactory
from tests.surveys.factories import InvitationFactory, QuestionFactory

from .conftest import assert_front_end_loaded, login

pytestmark = [pytest.mark.e2e]

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture
def csp(page):
    """Records CSP violations of every page of the journey; the test fails at teardown if there was one."""
    console = []
    page.on("console", lambda message: console.append(message.text) if "Content Security Policy" in message.text else None)
    page.add_init_script(RECORD_VIOLATIONS)  # runs in each new document, before the page's own scripts

    class Recorder:
        def check(self):
            """Violations of the current document (events) and of the whole journey so far (console)."""
            events = page.evaluate("window.__cspViolations")
            assert not events, "CSP violations on " + page.url + ":\n" + "\n".join(events)
            assert not console, "CSP violations in the console:\n" + "\n".join(console)

        def goto(self, url):
            response = page.goto(url)
            header = response.headers.get("content-security-policy", "")
            for directive in ("script-src 'self'", "style-src 'self'"):
                assert directive in header, f"{url}: {header!r}"
            for source in ("'unsafe-inline'", "'unsafe-eval'"):
                assert source not in header, f"{url}: {header!r}"
            return response

    recorder = Recorder()
    yield recorder
    assert not console, "CSP violations in the console:\n" + "\n".join(console)


def _rgb(hex_colour):
    return "rgb({}, {}, {})".format(*(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)))


def _background(locator):
    return locator.evaluate("element => getComputedStyle(element).backgroundColor")


def test_the_kpi_overview_draws_its_charts_under_the_policy(page, csp):
    manager = ManagerFactory(username="maria@vendor.test")
    today = timezone.localdate()
    gold = TierFactory(rank=3, name="Gold", colour="#d4a017")
    alpha = PartnerFactory(name="Alpha Resellers B.V.", tier=gold, joined_on=today - timedelta(days=800))
    SalesMonthFactory(partner=alpha, month=(today.replace(day=1) - timedelta(days=1)).replace(day=1), revenue=Decimal("150000"))
    ScoreSnapshot.objects.create(
        partner=alpha, date=today - timedelta(days=30), score_model=services.score_model_current(), score=Decimal("90"), band=Band.HEALTHY
    )
    services.scores_recompute(on_date=today)

    login(page, manager.username, PASSWORD, lands_on="/partners/")
    csp.goto("/kpis/")
    expect(page.locator("#at-risk")).to_contain_text("Alpha Resellers B.V.")
    assert page.evaluate("typeof Chart") == "function"
    for canvas in ("chart-scores", "chart-tiers"):
        assert page.evaluate(f"Chart.getChart(document.getElementById('{canvas}')) !== undefined"), f"#{canvas} was not drawn"
        assert page.evaluate(f"document.getElementById('{canvas}').width") > 0
    assert_front_end_loaded(page)
    csp.check()

    # The partner page: its tier badge gets the tier's colour from data-bg-colour.
    csp.goto(f"/partners/{alpha.pk}/")
    expect(page.locator("h1")).to_have_text("Alpha Resellers B.V.")
    badge = page.locator(".tier-badge").first
    expect(badge).to_have_text("Gold")
    assert _background(badge) == _rgb("#d4a017")
    csp.check()


def test_the_portal_home_and_scorecard_under_the_policy(page, csp):
    platinum = TierFactory(rank=4, name="Platinum", colour="#3b5ba9")
    alpha = PartnerFactory(name="Alpha Resellers B.V.", tier=platinum)
    admin = MembershipFactory(partner=alpha, role=MembershipRole.ADMIN, user__username="admin@alpha.test").user
    today = timezone.localdate()
    for days, score in ((60, "70"), (30, "75"), (0, "80")):
        ScoreSnapshot.objects.create(
            partner=alpha,
            date=today - timedelta(days=days),
            score_model=services.score_model_current(),
            score=Decimal(score),
            band=Band.HEALTHY,
        )

    login(page, admin.username, PASSWORD, lands_on="/portal/")
    csp.goto("/portal/")
    expect(page.locator("h1")).to_have_text("Alpha Resellers B.V.")
    badge = page.locator(".tier-badge").first
    expect(badge).to_have_text("Platinum")
    assert _background(badge) == _rgb("#3b5ba9")
    assert_front_end_loaded(page)
    csp.check()

    csp.goto("/portal/scorecard/")
    assert page.evaluate("typeof Chart") == "function"
    assert page.evaluate("Chart.getChart(document.getElementById('chart-score-trend')) !== undefined")
    assert page.evaluate("document.getElementById('chart-score-trend').width") > 0
    csp.check()


def test_the_survey_form_swaps_its_400_answer_in_without_hx_on(page, csp, expected_failures):
    alpha = PartnerFactory(name="Alpha Resellers B.V.")
    user = MembershipFactory(partner=alpha, role=MembershipRole.USER, user__username="user@alpha.test").user
    invitation = InvitationFactory(partner=alpha, user=user, wave__survey__title="Quarterly pulse")
    question = QuestionFactory(survey=invitation.wave.survey, text="How likely are you to recommend us?")

    expected_failures.add(f"400 /portal/surveys/{invitation.pk}/")
    login(page, user.username, PASSWORD, lands_on="/portal/")
    csp.goto(f"/portal/surveys/{invitation.pk}/")
    # A score no browser form offers (the radio buttons go to 10): the service refuses it with a 400.
    page.locator(f"#q{question.pk}-10").evaluate("radio => { radio.value = '11'; radio.checked = true; }")
    page.evaluate("window.__sameDocument = true")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith(f"/portal/surveys/{invitation.pk}/")) as posted:
        page.get_by_role("button", name="Save and continue later").click()
    assert posted.value.status == 400
    expect(page.locator("#survey-errors")).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True, "the 400 answer was not swapped in (the page reloaded)"
    csp.check()


def test_the_import_progress_bar_follows_the_htmx_polls(page, csp):
    manager = ManagerFactory(username="maria@vendor.test")
    job = ImportJob.objects.create(
        entity=ImportEntity.SALES,
        channel=ImportChannel.CLI,
        file_name="sales.csv",
        status=ImportStatus.RUNNING,
        started_at=timezone.now(),
        progress=42,
    )

    login(page, manager.username, PASSWORD, lands_on="/partners/")
    csp.goto(f"/partners/imports/{job.pk}/")
    bar = page.locator("#import-status .progress-bar")
    expect(bar).to_have_attribute("data-width-percent", "42")
    assert bar.evaluate("element => element.style.width") == "42%"
    ImportJob.objects.filter(pk=job.pk).update(progress=64)
    expect(page.locator("#import-status .progress-bar[data-width-percent='64']")).to_have_count(1)  # swapped in by the poll
    assert page.locator("#import-status .progress-bar").evaluate("element => element.style.width") == "64%"
    ratio = page.locator("#import-status .progress-bar").evaluate(
        "bar => bar.getBoundingClientRect().width / bar.parentElement.getBoundingClientRect().width"
    )
    assert 0.6 < ratio < 0.7
    csp.check()


def test_swagger_ui_loads_under_the_policy(page, csp):
    manager = ManagerFactory(username="maria@vendor.test")
    login(page, manager.username, PASSWORD, lands_on="/partners/")
    csp.goto("/api/docs/")
    expect(page.locator("#swagger-ui .info .title")).to_contain_text("PartnerLoop API")
    expect(page.locator("#swagger-ui .opblock").first).to_be_visible()
    assert page.evaluate("getComputedStyle(document.body).marginTop") == "0px"  # our static page CSS applied
    csp.check()


def test_the_admin_under_the_policy(page, csp):
    root = UserFactory(username="root@example.test", is_staff=True, is_superuser=True)
    silver = TierFactory(rank=2, name="Silver", colour="#a1a1aa")
    alpha = PartnerFactory(name="Alpha Resellers B.V.", tier=silver)

    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", root.username)
    page.fill("#id_password", PASSWORD)
    page.click("[type=submit]")
    page.wait_for_url("**/admin/")
    csp.goto("/admin/")
    csp.check()
    csp.goto("/admin/partners/tier/")
    swatch = page.locator(".tier-swatch").first
    assert _background(swatch) == _rgb("#a1a1aa")
    assert swatch.evaluate("element => element.getBoundingClientRect().width") > 0
    csp.check()
    csp.goto(f"/admin/partners/partner/{alpha.pk}/change/")
    expect(page.locator("#partner_form")).to_be_visible()
    csp.check()
    assert Partner.objects.filter(pk=alpha.pk).exists()
