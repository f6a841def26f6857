"""`manage.py seed_demo`: the demo world it builds, its logins, its sales history, and that a second run changes nothing.

Seeding takes seconds, so the module seeds once (`demo_world`) inside a transaction that is rolled
back at the end of the module; each test runs in a savepoint inside it, as usual with `db`.
"""

import hashlib
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO, StringIO

import pytest
from django.contrib.auth import SESSION_KEY, get_user_model
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled
from faker import Faker

from incentives.models import (
    EarningLine,
    Payout,
    PayoutStatus,
    PointsEntry,
    Program,
    ProgramPeriod,
    ProgramStatus,
    Redemption,
    Reward,
    Rule,
)
from partners.models import (
    ApplicationStatus,
    Contact,
    Interaction,
    InteractionKind,
    Membership,
    MembershipRole,
    Partner,
    PartnerApplication,
    PartnerStatus,
    PartnerStatusChange,
    PartnerType,
    Territory,
    Tier,
)
from partners.tenancy import MANAGER_GROUP
from sales.imports import ImportOptions, import_file
from sales.models import Customer, Product, Sale, SalesMonth, SalesMonthDetail
from sales.seed import demo_sales_files
from surveys.models import Answer, Idea, IdeaEvent, IdeaStatus, Invitation, Question, QuestionKind, Response, Survey, Wave

User = get_user_model()
PASSWORD = "partnerloop-demo"
PARTNER_MODELS = [Tier, Territory, Partner, PartnerStatusChange, Contact, Membership, Interaction, PartnerApplication]
SALES_MODELS = [Product, Customer, Sale, SalesMonth, SalesMonthDetail]
SELLING_TYPES = {PartnerType.DISTRIBUTOR, PartnerType.RESELLER, PartnerType.VAR, PartnerType.MSP, PartnerType.ISV}


def seed():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def demo_world(django_db_setup, django_db_blocker):
    """The output of one `seed_demo` run on an empty database, shared by the tests of this module."""
    with django_db_blocker.unblock(), scopes_disabled(), transaction.atomic():
        output = seed()
        # Check the deferred foreign keys of the seeded rows once, here: left pending, every test's
        # teardown (Django checks constraints before rolling a test back) would check all of them again.
        connection.check_constraints()
        yield output
        transaction.set_rollback(True)


def _digest(rows):
    return hashlib.sha256(repr(list(rows)).encode()).hexdigest()


def snapshot():
    """Row counts of every partners and sales model and users, plus checksums of the content that matters.

    The sales checksums include `updated_at` and the rollups' ids: a run that rewrote identical values,
    or rebuilt a rollup, would show.
    """
    counts = {model.__name__: model.objects.count() for model in PARTNER_MODELS + SALES_MODELS}
    counts["User"] = User.objects.count()
    return {
        "counts": counts,
        "partners": _digest(Partner.objects.order_by("external_id").values_list("external_id", "name", "status", "tier_id")),
        "interactions": _digest(
            Interaction.objects.order_by("partner_id", "occurred_at", "id").values_list("partner_id", "occurred_at", "summary")
        ),
        "contacts": _digest(Contact.objects.order_by("partner_id", "id").values_list("partner_id", "email", "is_primary")),
        "users": _digest(User.objects.order_by("username").values_list("username", "password", "is_staff", "is_superuser")),
        "products": _digest(Product.objects.order_by("sku").values_list("sku", "name", "category", "list_price", "updated_at")),
        "customers": _digest(
            Customer.objects.order_by("external_id").values_list("external_id", "name", "country", "segment", "region", "updated_at")
        ),
        "sales": _digest(
            Sale.objects.order_by("source", "external_id").values_list(
                "source",
                "external_id",
                "partner_id",
                "customer_id",
                "product_id",
                "invoice_date",
                "paid_date",
                "quantity",
                "amount",
                "currency",
                "original_amount",
                "is_credit_note",
                "updated_at",
            )
        ),
        "rollups": _digest(
            SalesMonth.objects.order_by("partner_id", "month").values_list(
                "id", "partner_id", "month", "revenue", "paid_revenue", "credit_amount", "quantity", "line_count", "customer_count"
            )
        ),
        "rollup_details": _digest(
            SalesMonthDetail.objects.order_by("partner_id", "month", "category", "country").values_list(
                "id", "partner_id", "month", "category", "country", "revenue", "paid_revenue", "quantity", "line_count"
            )
        ),
    }


def history_window():
    """(first day, last day) of the 36 months of sales history: up to the last complete month."""
    last_day = timezone.localdate().replace(day=1) - timedelta(days=1)
    first_day = date(last_day.year - 3 + (last_day.month == 12), last_day.month % 12 + 1, 1)
    return first_day, last_day


def yearly_revenue():
    """{external_id: (revenue of the 12 months before the last 12, revenue of the last 12)} from the rollups."""
    first_day, _last_day = history_window()
    split = date(first_day.year + 2, first_day.month, 1)
    previous = date(first_day.year + 1, first_day.month, 1)
    totals = defaultdict(lambda: [0, 0])
    for external_id, month, revenue in SalesMonth.objects.values_list("partner__external_id", "month", "revenue"):
        if month >= split:
            totals[external_id][1] += revenue
        elif month >= previous:
            totals[external_id][0] += revenue
    return totals


def test_seed_demo_builds_the_demo_world(demo_world, db):
    assert "Created 200 partners" in demo_world
    assert "41 products, 600 customers" in demo_world
    assert "Sales history: " in demo_world
    assert "(copy engine)" in demo_world
    assert "manager@demo.partnerloop.test" in demo_world
    assert "admin@northwind.demo.partnerloop.test" in demo_world

    partners = Partner.objects.all()
    assert partners.count() == 200
    assert sorted(partners.values_list("external_id", flat=True)) == [f"DEMO-{n:04d}" for n in range(1, 201)]
    assert set(partners.values_list("partner_type", flat=True)) == set(PartnerType.values)
    assert partners.filter(partner_type=PartnerType.DISTRIBUTOR).count() == 10
    assert partners.values("country").distinct().count() >= 8
    assert set(partners.values_list("status", flat=True)) == {
        PartnerStatus.ACTIVE,
        PartnerStatus.ONBOARDING,
        PartnerStatus.INACTIVE,
        PartnerStatus.CHURNED,
    }
    assert partners.filter(status=PartnerStatus.ACTIVE).count() > 120

    with_distributor = partners.filter(parent__isnull=False)
    assert 50 <= with_distributor.count() <= 70
    assert not with_distributor.exclude(partner_type=PartnerType.RESELLER).exists()
    assert not with_distributor.exclude(parent__partner_type=PartnerType.DISTRIBUTOR).exists()

    assert list(Tier.objects.values_list("name", flat=True)) == ["Registered", "Silver", "Gold", "Platinum"]
    assert not Tier.objects.filter(benefits="").exists()
    assert set(Territory.objects.filter(parent__name="EMEA").values_list("name", flat=True)) == {
        "Benelux",
        "DACH",
        "Nordics",
        "UK & Ireland",
    }
    for partner in partners.select_related("territory"):
        assert partner.country in partner.territory.countries, partner.external_id
        assert partner.account_manager_id is not None
        if partner.status != PartnerStatus.ONBOARDING:
            assert partner.joined_on is not None, partner.external_id
        assert (partner.churned_on is not None) == (partner.status == PartnerStatus.CHURNED), partner.external_id
        assert partner.status_changes.first().to_status == partner.status  # latest change first

    # 2-4 contacts each, exactly one of them primary.
    contact_counts = partners.annotate(total=Count("contacts"), primary=Count("contacts", filter=Q(contacts__is_primary=True)))
    assert set(contact_counts.values_list("primary", flat=True)) == {1}
    assert set(contact_counts.values_list("total", flat=True)) <= {2, 3, 4}

    # 3-12 manual timeline entries each, over the past 18 months, some of them internal.
    manual = Interaction.objects.exclude(kind=InteractionKind.STATUS_CHANGED)
    per_partner = partners.annotate(n=Count("interactions", filter=~Q(interactions__kind=InteractionKind.STATUS_CHANGED)))
    assert min(per_partner.values_list("n", flat=True)) >= 3
    assert max(per_partner.values_list("n", flat=True)) <= 12
    assert set(manual.values_list("kind", flat=True)) == set(InteractionKind.manual())
    assert not manual.filter(occurred_at__lt=timezone.now() - timedelta(days=560)).exists()
    assert not manual.filter(occurred_at__gt=timezone.now()).exists()
    assert manual.filter(is_internal=True).exists()

    managers = User.objects.filter(groups__name=MANAGER_GROUP, is_staff=True)
    assert managers.count() == 5
    assert managers.filter(username="manager@demo.partnerloop.test").exists()
    assert User.objects.get(username="admin@demo.partnerloop.test").is_superuser
    assert Membership.objects.filter(role=MembershipRole.ADMIN).count() == 5
    assert Membership.objects.filter(role=MembershipRole.USER).count() == 5
    assert Membership.objects.get(user__username="admin@northwind.demo.partnerloop.test").partner.external_id == "DEMO-0001"

    statuses = sorted(PartnerApplication.objects.values_list("status", flat=True))
    assert statuses == sorted([ApplicationStatus.PENDING] * 3 + [ApplicationStatus.ACCEPTED, ApplicationStatus.DECLINED])
    assert PartnerApplication.objects.get(status=ApplicationStatus.ACCEPTED).partner is not None
    assert PartnerApplication.objects.get(status=ApplicationStatus.DECLINED).decline_reason


def test_demo_logins_work_with_the_demo_password(demo_world, db, client):
    for username in ["manager@demo.partnerloop.test", "admin@demo.partnerloop.test", "admin@northwind.demo.partnerloop.test"]:
        response = client.post(reverse("login"), {"username": username, "password": PASSWORD})

        assert response.status_code == 302, username
        assert client.session[SESSION_KEY] == str(User.objects.get(username=username).pk)
        client.logout()


def test_second_run_changes_nothing(demo_world, db):
    before = snapshot()

    second = seed()

    assert "Created 0 partners, 0 contacts, 0 interactions, 0 users, 0 applications, 0 products, 0 customers, 0 sales lines." in second
    assert snapshot() == before


def test_demo_catalogue_and_customers(demo_world, db):
    products = Product.objects.all()
    assert products.count() == 41
    assert set(products.values_list("category", flat=True)) == {
        "Hardware",
        "Software licences",
        "Subscriptions",
        "Services",
        "Training",
        "Accessories",
    }
    assert products.filter(sku="PL-HW-001").exists()
    assert not products.filter(Q(list_price__isnull=True) | Q(list_price__lte=0)).exists()

    customers = Customer.objects.all()
    assert sorted(customers.values_list("external_id", flat=True)) == [f"CUST-{n:04d}" for n in range(1, 601)]
    assert set(customers.values_list("segment", flat=True)) == {"SMB", "Mid-market", "Enterprise", "Public sector"}
    demo_countries = {country.code for territory in Territory.objects.all() for country in territory.countries}
    assert set(customers.values_list("country", flat=True)) <= demo_countries
    assert customers.values("country").distinct().count() >= 12
    assert customers.values("name").distinct().count() == 600


def test_demo_sales_history(demo_world, db):
    first_day, last_day = history_window()
    today = timezone.localdate()
    sales = Sale.objects.filter(source="demo")
    total = sales.count()
    assert 40_000 <= total <= 80_000
    assert total == Sale.objects.count()
    assert sales.dates("invoice_date", "month").count() == 36
    assert sales.filter(invoice_date__lt=first_day).count() == 0
    assert sales.filter(invoice_date__gt=last_day).count() == 0

    # Every active partner that sells and joined more than half a year ago has sales; nobody sells
    # outside its membership; referral partners and partners still onboarding invoice nothing.
    established = Partner.objects.filter(
        partner_type__in=SELLING_TYPES, status=PartnerStatus.ACTIVE, joined_on__lt=last_day - timedelta(days=180)
    )
    assert established.count() > 100
    assert list(established.exclude(pk__in=sales.values("partner_id")).values_list("external_id", flat=True)) == []
    assert not sales.filter(partner__partner_type=PartnerType.REFERRAL).exists()
    assert not sales.filter(partner__status=PartnerStatus.ONBOARDING).exists()
    assert not sales.filter(invoice_date__lt=F("partner__joined_on")).exists()
    assert not sales.filter(invoice_date__gt=F("partner__churned_on")).exists()
    assert sales.filter(partner__status=PartnerStatus.CHURNED).exists()

    # Sell-in for distributors (no end customer), sell-through with a customer for everybody else.
    assert sales.filter(partner__partner_type=PartnerType.DISTRIBUTOR).exists()
    assert not sales.filter(partner__partner_type=PartnerType.DISTRIBUTOR, customer__isnull=False).exists()
    assert not sales.exclude(partner__partner_type=PartnerType.DISTRIBUTOR).filter(customer__isnull=True).exists()
    assert not sales.filter(product__isnull=True).exists()

    # A few credit notes: negative amount and quantity.
    credits = sales.filter(is_credit_note=True)
    assert 0.005 * total <= credits.count() <= 0.03 * total
    assert not credits.filter(Q(amount__gte=0) | Q(quantity__gte=0)).exists()

    # Most lines are paid 30-60 days after the invoice; the recent ones are not paid yet.
    paid = sales.filter(paid_date__isnull=False)
    assert paid.count() > 0.9 * total
    assert not paid.filter(
        Q(paid_date__lt=F("invoice_date") + timedelta(days=30)) | Q(paid_date__gt=F("invoice_date") + timedelta(days=60))
    ).exists()
    assert not paid.filter(paid_date__gte=today).exists()
    assert not paid.filter(invoice_date__gte=today - timedelta(days=30)).exists()
    assert sales.filter(invoice_date__gte=today - timedelta(days=60), paid_date__isnull=True).count() > 100

    # Non-euro partners invoice in their own currency too.
    assert sales.filter(partner__country="GB", currency="GBP", original_amount__isnull=False).exists()
    assert not sales.filter(partner__country="NL").exclude(currency="").exists()


def test_partner_size_follows_the_tier(demo_world, db):
    totals = yearly_revenue()
    by_tier = defaultdict(list)
    for partner in (
        Partner.objects.exclude(partner_type=PartnerType.DISTRIBUTOR).filter(external_id__in=list(totals)).select_related("tier")
    ):
        by_tier[partner.tier.name].append(totals[partner.external_id][1])
    average = {tier: sum(values) / len(values) for tier, values in by_tier.items()}
    assert average["Platinum"] > average["Gold"] > average["Silver"] > average["Registered"]
    assert average["Platinum"] > 5 * average["Registered"]


def test_sales_have_seasonality_growth_and_decline(demo_world, db):
    year = timezone.localdate().year - 1  # the last complete year lies wholly inside the history
    quarters = {
        quarter: SalesMonth.objects.filter(month__year=year, month__quarter=quarter).aggregate(total=Sum("revenue"))["total"]
        for quarter in (3, 4)
    }
    assert quarters[4] > Decimal("1.2") * quarters[3]
    july_august = Sale.objects.filter(invoice_date__year=year, invoice_date__month__in=[7, 8]).aggregate(total=Sum("amount"))["total"]
    may_june = Sale.objects.filter(invoice_date__year=year, invoice_date__month__in=[5, 6]).aggregate(total=Sum("amount"))["total"]
    assert july_august < may_june  # the summer dip, straight from the sales table

    # Year over year (last 12 months against the 12 before): some partners grow strongly, some decline.
    change = {external_id: last / previous - 1 for external_id, (previous, last) in yearly_revenue().items() if previous > 0}
    assert sum(1 for value in change.values() if value > 0.2) >= 5
    assert sum(1 for value in change.values() if value < -0.2) >= 5
    # The demo's story: Alpenblick IT grows fast, Thames Managed Services is the account at risk.
    assert change["DEMO-0002"] > 0.25
    assert change["DEMO-0003"] < -0.2


def test_rollups_equal_a_direct_aggregate_of_the_sales(demo_world, db):
    partners = Partner.objects.filter(
        Q(external_id__in=["DEMO-0001", "DEMO-0002", "DEMO-0003", "DEMO-0004", "DEMO-0005"])
        | Q(pk__in=Partner.objects.filter(status=PartnerStatus.CHURNED, sales__isnull=False).values("pk")[:1])
    ).distinct()
    assert partners.count() == 6
    for partner in partners:
        direct = {
            row["month"]: (
                row["revenue"],
                row["paid"] or 0,
                row["credit"] or 0,
                row["quantity"],
                row["lines"],
                row["customers"],
            )
            for row in Sale.objects.filter(partner=partner)
            .annotate(month=TruncMonth("invoice_date"))
            .values("month")
            .annotate(
                revenue=Sum("amount"),
                paid=Sum("amount", filter=Q(paid_date__isnull=False)),
                credit=Sum("amount", filter=Q(amount__lt=0)),
                quantity=Sum("quantity"),
                lines=Count("id"),
                customers=Count("customer", distinct=True),
            )
        }
        rollup = {
            month: rest
            for month, *rest in SalesMonth.objects.filter(partner=partner).values_list(
                "month", "revenue", "paid_revenue", "credit_amount", "quantity", "line_count", "customer_count"
            )
        }
        assert direct, partner.external_id
        assert {month: tuple(values) for month, values in rollup.items()} == direct, partner.external_id

        details = defaultdict(lambda: [0, 0])
        for sale in Sale.objects.filter(partner=partner).select_related("product", "customer"):
            key = (
                sale.invoice_date.replace(day=1),
                sale.product.category,
                sale.customer.country.code if sale.customer else partner.country.code,
            )
            details[key][0] += sale.amount
            details[key][1] += 1
        stored = {
            (month, category, country): [revenue, lines]
            for month, category, country, revenue, lines in SalesMonthDetail.objects.filter(partner=partner).values_list(
                "month", "category", "country", "revenue", "line_count"
            )
        }
        assert stored == dict(details), partner.external_id


def test_reimporting_the_demo_sales_changes_nothing(demo_world, db):
    """Imports are idempotent on (source, external ID): the same generated files again create and update nothing."""
    before = snapshot()

    files = demo_sales_files(timezone.localdate(), Faker)
    results = [import_file(entity="sales", stream=BytesIO(data), size=len(data), options=ImportOptions(source="demo")) for data in files]

    assert sum(result.rows_total for result in results) == before["counts"]["Sale"]
    assert [(result.created, result.updated, result.error_count) for result in results] == [(0, 0, 0)] * len(files)
    assert sum(result.unchanged for result in results) == before["counts"]["Sale"]
    assert snapshot() == before


# --- the feedback loop (seed_surveys, run at the end of seed_demo) ---------------------------------

SURVEY_MODELS = [Survey, Question, Wave, Invitation, Response, Answer, Idea, IdeaEvent]


def test_seed_demo_ends_with_the_surveys_and_ideas(demo_world, db):
    assert 'Survey "Partner satisfaction (NPS)"' in demo_world
    survey = Survey.objects.get(title_en="Partner satisfaction (NPS)")
    assert (survey.title_nl, survey.title_de) == ("Partnertevredenheid (NPS)", "Partnerzufriedenheit (NPS)")
    waves = list(survey.waves.order_by("opens_at"))
    assert [wave.state for wave in waves] == ["closed", "closed", "open"]
    for wave in waves:
        responses = Response.objects.filter(wave=wave)
        assert 0 < responses.count() <= wave.invitations.count()
        assert Answer.objects.filter(response__wave=wave, question__kind=QuestionKind.NPS).count() == responses.count()
    past_answers = Answer.objects.filter(response__wave__in=waves[:2])
    assert past_answers.filter(question__kind=QuestionKind.TEXT).exclude(text="").exists()
    assert past_answers.filter(question__kind=QuestionKind.NPS, number__gte=9).exists()
    assert past_answers.filter(question__kind=QuestionKind.NPS, number__lte=6).exists()

    ideas = Idea.objects.all()
    assert ideas.count() == 12
    assert set(ideas.values_list("status", flat=True)) == set(IdeaStatus.values)
    assert ideas.filter(merged_into__isnull=False).exists()
    assert IdeaEvent.objects.filter(kind=IdeaEvent.Kind.REPLY).exists()


def test_a_second_run_adds_no_surveys_or_ideas(demo_world, db):
    before = {model.__name__: model.objects.count() for model in SURVEY_MODELS}

    second = seed()

    assert "Created 0 surveys, 0 questions, 0 waves, 0 invitations, 0 responses, 0 ideas, 0 idea events." in second
    assert {model.__name__: model.objects.count() for model in SURVEY_MODELS} == before


# --- the incentives (seed_incentives, run after the surveys) ---------------------------------------

INCENTIVE_MODELS = [Program, Rule, ProgramPeriod, EarningLine, Payout, PointsEntry, Reward, Redemption]


def test_seed_demo_ends_with_running_programs_and_a_closed_period(demo_world, db):
    programs = Program.objects.filter(status=ProgramStatus.ACTIVE)
    assert programs.count() == 2
    kinds = set(Rule.objects.filter(program__in=programs).values_list("kind", flat=True))
    assert {"revenue_rebate", "growth_bonus", "points"} <= kinds
    assert ProgramPeriod.objects.filter(closed_at__isnull=False).exists()
    assert EarningLine.objects.exists()
    assert set(Payout.objects.values_list("status", flat=True)) == set(PayoutStatus.values)
    assert Redemption.objects.exists()


def test_a_second_run_adds_no_incentive_rows(demo_world, db):
    before = {model.__name__: model.objects.count() for model in INCENTIVE_MODELS}

    seed()

    assert {model.__name__: model.objects.count() for model in INCENTIVE_MODELS} == before
