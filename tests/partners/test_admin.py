"""Django admin of the partner record: every model opens, search works, and the custom behaviour
(services on save, read-only history, application actions, CSV export) does what it says."""

from datetime import date
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.messages import get_messages
from django.urls import reverse

from cases.models import Case
from deals.models import DealRegistration
from enablement.models import Certification
from partners import services
from partners.models import (
    ApplicationStatus,
    Contact,
    IdempotencyKey,
    Interaction,
    InteractionKind,
    Membership,
    MembershipRole,
    Partner,
    PartnerApplication,
    PartnerStatus,
    PartnerStatusChange,
    PartnerType,
)
from sales.imports import rollups
from sales.models import (
    Customer,
    CustomerFirstSale,
    ImportChannel,
    ImportJob,
    ImportStatus,
    MarketFirstSale,
    Product,
    Sale,
    SalesMonth,
    SalesMonthDetail,
)
from tests.partners.factories import (
    ApplicationFactory,
    ContactFactory,
    InteractionFactory,
    MembershipFactory,
    PartnerFactory,
    TerritoryFactory,
    TierFactory,
)

PARTNER_MODELS = sorted(apps.get_app_config("partners").get_models(), key=lambda model: model.__name__)
# Written by the services and the imports only; the admin shows them but cannot add to them.
READ_ONLY_MODELS = {PartnerStatusChange, SalesMonth, SalesMonthDetail, CustomerFirstSale, MarketFirstSale, ImportJob, IdempotencyKey}


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def world(partner_a, partner_b, superuser):
    """One row of every partners model, so changelists and change pages render real data."""
    partner = services.partner_create(
        created_by=superuser,
        name="Gamma Systems Ltd",
        partner_type=PartnerType.VAR,
        country="GB",
        external_id="GAMMA-1",
        tier=TierFactory(name="Gold"),
        territory=TerritoryFactory(name="UK & Ireland", countries=["GB", "IE"]),
        parent=PartnerFactory(name="Omega Distribution", partner_type=PartnerType.DISTRIBUTOR, country="GB"),
        account_manager=superuser,
    )
    pia = ContactFactory(partner=partner_a, first_name="Pia", last_name="Primary", email="pia@alpha.test", is_primary=True)
    Certification.objects.create(contact=pia, partner=partner_a, name="Network Associate", earned_on=date(2026, 1, 10))
    MembershipFactory(partner=partner_a, role=MembershipRole.ADMIN)
    InteractionFactory(partner=partner_a, summary="Quarterly numbers discussed")
    ApplicationFactory()
    customer = Customer.objects.create(external_id="CUST-1", name="Acme Hospitals", country="NL", segment="Healthcare")
    product = Product.objects.create(sku="RTR-100", name="Edge router", category="Networking", list_price=Decimal("499.0000"))
    DealRegistration.objects.create(partner=partner_a, customer=customer, title="Hospital WAN", amount=Decimal("25000.00"))
    Sale.objects.create(
        partner=partner_a,
        customer=customer,
        product=product,
        invoice_date=date(2026, 1, 15),
        amount=Decimal("998.0000"),
        quantity=2,
        external_id="INV-1001",
    )
    rollups.refresh({(partner_a.pk, date(2026, 1, 1))})
    Case.objects.create(partner=partner_a, subject="Deal claimed by two resellers", kind="channel_conflict")
    ImportJob.objects.create(
        entity="sales",
        channel=ImportChannel.CLI,
        file_name="january.csv",
        status=ImportStatus.REJECTED,
        rows_total=3,
        rows_rejected=1,
        message="1 row(s) were rejected, so nothing was written.",
        errors=[{"line": 3, "column": "partner_external_id", "reason": "No partner has the external ID “<b>P-9</b>”."}],
        options={"source": "erp", "dry_run": False},
    )
    IdempotencyKey.objects.create(
        user=superuser,
        key="retry-1",
        method="POST",
        path="/api/v1/redemptions/",
        fingerprint="0" * 64,
        status_code=201,
        response_body={"id": 1},
    )
    return partner


def test_every_partners_model_is_registered():
    assert [model for model in PARTNER_MODELS if not admin.site.is_registered(model)] == []


@pytest.mark.parametrize("model", PARTNER_MODELS, ids=lambda model: model.__name__)
def test_changelist_and_add_page_open(admin_client, world, model):
    assert admin_client.get(_url(model, "changelist")).status_code == 200
    assert admin_client.get(_url(model, "add")).status_code == (403 if model in READ_ONLY_MODELS else 200)


@pytest.mark.parametrize("model", PARTNER_MODELS, ids=lambda model: model.__name__)
def test_change_page_opens(admin_client, world, model):
    obj = model._default_manager.order_by("pk").first()

    assert admin_client.get(_url(model, "change", obj.pk)).status_code == 200


def test_partner_change_page_shows_inlines(admin_client, partner_a):
    ContactFactory(partner=partner_a, last_name="Inlinecontact")
    for n in range(15):
        InteractionFactory(partner=partner_a, summary=f"Timeline entry {n:02d}")

    response = admin_client.get(_url(Partner, "change", partner_a.pk))

    content = response.content.decode()
    assert "Inlinecontact" in content
    assert "Timeline entry 14" in content
    assert "Timeline entry 04" not in content  # only the 10 most recent entries
    assert f"partner__id__exact={partner_a.pk}" in content  # link to the whole timeline


def test_partner_search(admin_client, world, partner_a, partner_b):
    by_name = admin_client.get(_url(Partner, "changelist"), {"q": "Alpha"})
    by_contact_email = admin_client.get(_url(Partner, "changelist"), {"q": "pia@alpha.test"})

    assert list(by_name.context["cl"].result_list) == [partner_a]
    assert list(by_contact_email.context["cl"].result_list) == [partner_a]


@pytest.mark.parametrize(
    ("model", "term", "expected"),
    [
        (Contact, "Primary", "Pia Primary"),
        (Interaction, "quarterly numbers", "Call: Quarterly numbers discussed"),
        (PartnerApplication, "Applicant", "Applicant"),
        (PartnerStatusChange, "Gamma", "Gamma Systems Ltd"),
        (Membership, "Alpha", "Alpha Resellers B.V."),
        (Customer, "CUST-1", "Acme Hospitals"),
        (Product, "router", "RTR-100 Edge router"),
        (Sale, "INV-1001", "erp:INV-1001"),
        (Sale, "Alpha", "erp:INV-1001"),
        (SalesMonth, "Alpha", "2026-01"),
        (SalesMonthDetail, "Alpha", "2026-01 Networking/NL"),
        (ImportJob, "january", "january.csv"),
    ],
)
def test_search_on_other_models(admin_client, world, model, term, expected):
    response = admin_client.get(_url(model, "changelist"), {"q": term})

    results = list(response.context["cl"].result_list)
    assert len(results) == 1
    assert expected in str(results[0])


def _changeform_data(response):
    """The POST data of an admin change form as rendered: main form, inline management forms and rows."""
    data = {}

    def add(form):
        for name in form.fields:
            value = form[name].value()
            key = form.add_prefix(name)
            if value is True:
                data[key] = "on"
            elif value not in (None, False):
                data[key] = [str(v) for v in value] if isinstance(value, list | tuple) else str(value)

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name, value in formset.management_form.initial.items():
            data[formset.management_form.add_prefix(name)] = value
        for form in formset.forms:
            add(form)
    return data


def test_saving_a_status_change_in_the_admin_records_history(admin_client, superuser, partner_a):
    url = _url(Partner, "change", partner_a.pk)
    data = _changeform_data(admin_client.get(url))
    data["status"] = PartnerStatus.CHURNED
    data["churned_on"] = "2026-01-31"

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    partner_a.refresh_from_db()
    assert partner_a.status == PartnerStatus.CHURNED
    change = PartnerStatusChange.objects.get(partner=partner_a)
    assert (change.from_status, change.to_status, change.changed_by) == (PartnerStatus.ACTIVE, PartnerStatus.CHURNED, superuser)
    assert Interaction.objects.filter(partner=partner_a, kind=InteractionKind.STATUS_CHANGED).count() == 1


def test_adding_a_partner_in_the_admin_goes_through_the_service(admin_client, superuser):
    data = _changeform_data(admin_client.get(_url(Partner, "add")))
    data.update(name="Delta IT GmbH", partner_type=PartnerType.RESELLER, status=PartnerStatus.ACTIVE, country="DE")
    data.update(
        {"contacts-TOTAL_FORMS": "1", "contacts-0-first_name": "Dora", "contacts-0-last_name": "Delta", "contacts-0-is_primary": "on"}
    )

    response = admin_client.post(_url(Partner, "add"), data)

    assert response.status_code == 302
    partner = Partner.objects.get(name="Delta IT GmbH")
    assert partner.joined_on is not None  # set by the service for an active partner
    assert partner.status_changes.get().changed_by == superuser
    assert partner.contacts.get().is_primary


def test_contact_inline_moves_the_primary_flag(admin_client, partner_a):
    old = ContactFactory(partner=partner_a, last_name="Old", is_primary=True)
    new = ContactFactory(partner=partner_a, last_name="New", is_primary=False)
    url = _url(Partner, "change", partner_a.pk)
    data = _changeform_data(admin_client.get(url))
    prefix = {form.instance.pk: form.prefix for form in admin_client.get(url).context["inline_admin_formsets"][0].formset.forms}
    data.pop(f"{prefix[old.pk]}-is_primary")
    data[f"{prefix[new.pk]}-is_primary"] = "on"

    response = admin_client.post(url, data)

    assert response.status_code == 302
    assert list(partner_a.contacts.filter(is_primary=True)) == [new]


def test_contact_inline_refuses_two_primary_contacts(admin_client, partner_a):
    ContactFactory(partner=partner_a, is_primary=True)
    ContactFactory(partner=partner_a, is_primary=False)
    url = _url(Partner, "change", partner_a.pk)
    data = _changeform_data(admin_client.get(url))
    data["contacts-1-is_primary"] = data["contacts-0-is_primary"] = "on"

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert "only one primary contact" in response.content.decode()
    assert partner_a.contacts.filter(is_primary=True).count() == 1


def _run_action(client, model, action, objects):
    return client.post(_url(model, "changelist"), {"action": action, "_selected_action": [obj.pk for obj in objects]}, follow=True)


def test_accept_action_turns_a_pending_application_into_a_partner(admin_client, superuser):
    application = ApplicationFactory(company_name="Epsilon Cloud AG", email="eva@epsilon.test")

    response = _run_action(admin_client, PartnerApplication, "accept_applications", [application])

    application.refresh_from_db()
    assert application.status == ApplicationStatus.ACCEPTED
    assert application.decided_by == superuser
    partner = application.partner
    assert partner.name == "Epsilon Cloud AG"
    assert partner.status == PartnerStatus.ONBOARDING
    assert partner.contacts.get().is_primary
    assert Membership.objects.get(partner=partner).user.email == "eva@epsilon.test"
    assert any("Epsilon Cloud AG" in str(message) for message in get_messages(response.wsgi_request))


def test_accept_action_reports_applications_it_cannot_accept(admin_client):
    pending = ApplicationFactory(company_name="Zeta Pending")
    decided = ApplicationFactory(company_name="Eta Declined", status=ApplicationStatus.DECLINED)

    response = _run_action(admin_client, PartnerApplication, "accept_applications", [pending, decided])

    messages = [(message.level_tag, str(message)) for message in get_messages(response.wsgi_request)]
    assert any(level == "success" and "Zeta Pending" in text for level, text in messages)
    assert any(level == "error" and "Eta Declined" in text for level, text in messages)
    decided.refresh_from_db()
    assert (decided.status, decided.partner) == (ApplicationStatus.DECLINED, None)


def test_decline_action_declines_with_a_fixed_reason(admin_client, superuser):
    application = ApplicationFactory()

    _run_action(admin_client, PartnerApplication, "decline_applications", [application])

    application.refresh_from_db()
    assert application.status == ApplicationStatus.DECLINED
    assert application.decline_reason == "Declined by an administrator"
    assert application.decided_by == superuser
    assert application.partner is None


def test_application_decision_fields_are_read_only(admin_client):
    application = ApplicationFactory()

    form = admin_client.get(_url(PartnerApplication, "change", application.pk)).context["adminform"].form

    assert {"status", "decided_at", "decided_by", "decline_reason", "partner"}.isdisjoint(form.fields)


def test_export_csv_action(admin_client, partner_a, partner_b):
    formula = PartnerFactory(name="=HYPERLINK(evil)")

    response = admin_client.post(_url(Partner, "changelist"), {"action": "export_csv", "_selected_action": [partner_a.pk, formula.pk]})

    assert response["Content-Type"].startswith("text/csv")
    content = response.content.decode()
    assert "Alpha Resellers B.V." in content
    assert partner_b.name not in content
    assert "'=HYPERLINK(evil)" in content


# --- sales data and imports ------------------------------------------------------------------------


def test_import_job_page_shows_the_rejected_rows_readably(admin_client, world):
    job = ImportJob.objects.get()

    content = admin_client.get(_url(ImportJob, "change", job.pk)).content.decode()

    assert "<td>3</td><td>partner_external_id</td><td>No partner has the external ID “&lt;b&gt;P-9&lt;/b&gt;”.</td>" in content
    assert "source=&#x27;erp&#x27;" in content
    assert "1 row(s) were rejected" in content


def test_import_job_list_filters_by_status(admin_client, world):
    ImportJob.objects.create(entity="products", channel=ImportChannel.UPLOAD, status=ImportStatus.SUCCEEDED)

    response = admin_client.get(_url(ImportJob, "changelist"), {"status__exact": ImportStatus.REJECTED})

    assert [job.file_name for job in response.context["cl"].result_list] == ["january.csv"]


def test_rollups_and_import_records_cannot_be_changed_or_deleted(admin_client, world):
    for model in (SalesMonth, SalesMonthDetail, ImportJob):
        obj = model._default_manager.first()
        assert admin_client.post(_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
        assert model._default_manager.filter(pk=obj.pk).exists()


def test_correcting_a_sale_in_the_admin_keeps_the_rollups_in_step(admin_client, world, partner_a, partner_b):
    sale = Sale.objects.get()
    url = _url(Sale, "change", sale.pk)
    data = _changeform_data(admin_client.get(url))
    data.update(partner=str(partner_b.pk), invoice_date="2026-02-10", amount="-100.00", quantity="-1")

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    sale.refresh_from_db()
    assert (sale.partner, sale.is_credit_note) == (partner_b, True)
    assert not SalesMonth.objects.filter(partner=partner_a).exists()  # the month it left is rebuilt (empty)
    month = SalesMonth.objects.get(partner=partner_b)
    assert (month.month, month.revenue, month.credit_amount) == (date(2026, 2, 1), Decimal("-100.0000"), Decimal("-100.0000"))


def test_deleting_sales_in_the_admin_rebuilds_their_months(admin_client, world, partner_a):
    sale = Sale.objects.get()

    admin_client.post(_url(Sale, "changelist"), {"action": "delete_selected", "_selected_action": [sale.pk], "post": "yes"})

    assert not Sale.objects.exists()
    assert not SalesMonth.objects.exists()
    assert not SalesMonthDetail.objects.exists()


def test_changing_a_product_category_rebuilds_the_detail_rollups(admin_client, world, partner_a):
    product = Product.objects.get()
    url = _url(Product, "change", product.pk)
    data = _changeform_data(admin_client.get(url))
    data["category"] = "Security"

    assert admin_client.post(url, data).status_code == 302
    assert list(SalesMonthDetail.objects.values_list("category", flat=True)) == ["Security"]


def test_changing_a_customer_country_rebuilds_the_detail_rollups(admin_client, world, partner_a):
    customer = Customer.objects.get()
    url = _url(Customer, "change", customer.pk)
    data = _changeform_data(admin_client.get(url))
    data["country"] = "BE"

    assert admin_client.post(url, data).status_code == 302
    assert list(SalesMonthDetail.objects.values_list("country", flat=True)) == ["BE"]


def test_sale_changelist_skips_the_full_count(admin_client, world):
    response = admin_client.get(_url(Sale, "changelist"), {"q": "INV-1001"})

    assert response.context["cl"].show_full_result_count is False
    assert response.context["cl"].full_result_count is None
