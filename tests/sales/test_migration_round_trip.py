"""The move of the sales data, certifications, deals and cases out of `partners` is state-only.

A populated PostgreSQL database goes from the migration head before the move (partners 0008) to the
head after it and back: every moved table keeps its rows and sums, the sales triggers of partners
0004 keep guarding the tables, and the content types (with their permissions) follow the models.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("partners", "0008_idempotency_key")]
AFTER = [
    ("partners", "0009_move_out_sales_deals_enablement_cases"),
    ("sales", "0001_initial"),
    ("deals", "0001_initial"),
    ("enablement", "0001_initial"),
    ("cases", "0001_initial"),
]
MOVED = {
    "sales": ["customer", "product", "sale", "salesmonth", "salesmonthdetail", "importjob", "customerfirstsale", "marketfirstsale"],
    "deals": ["dealregistration"],
    "enablement": ["certification"],
    "cases": ["case"],
}
# What is summed per table besides the row count: a change in any value would show.
SUMS = {
    "partners_sale": "sum(amount), sum(quantity), sum(partner_id), sum(customer_id), sum(product_id)",
    "partners_salesmonth": "sum(revenue), sum(line_count), sum(partner_id)",
    "partners_salesmonthdetail": "sum(revenue), sum(line_count)",
    "partners_customer": "sum(id), string_agg(external_id, ',' ORDER BY id)",
    "partners_product": "sum(id), string_agg(sku, ',' ORDER BY id)",
    "partners_customerfirstsale": "sum(customer_id), min(first_invoice_date)",
    "partners_marketfirstsale": "count(DISTINCT value), min(first_month)",
    "partners_importjob": "sum(rows_total), string_agg(file_name, ',' ORDER BY id)",
    "partners_dealregistration": "sum(amount), sum(customer_id)",
    "partners_certification": "sum(contact_id), min(earned_on)",
    "partners_case": "sum(partner_id), string_agg(subject, ',' ORDER BY id)",
}


def _migrate(targets):
    """Migrate to `targets`; the models as of those targets plus every other app's latest migration."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    moved_apps = {app for app, _ in AFTER}
    others = [node for node in executor.loader.graph.leaf_nodes() if node[0] not in moved_apps]
    return executor.loader.project_state(others + targets).apps


def _figures():
    figures = {}
    with connection.cursor() as cursor:
        for table, sums in SUMS.items():
            cursor.execute(f"SELECT count(*), {sums} FROM {table}")  # noqa: S608 (names from the constant above)
            figures[table] = cursor.fetchone()
    return figures


def _content_type_labels():
    with connection.cursor() as cursor:
        cursor.execute("SELECT model, app_label FROM django_content_type WHERE model = ANY(%s)", [sum(MOVED.values(), [])])
        return dict(cursor.fetchall())


def _populate(apps):
    """Rows in every moved table, written with the models as they were before the move."""
    Partner = apps.get_model("partners", "Partner")
    Contact = apps.get_model("partners", "Contact")
    Customer = apps.get_model("partners", "Customer")
    Product = apps.get_model("partners", "Product")
    Sale = apps.get_model("partners", "Sale")
    ContentType = apps.get_model("contenttypes", "ContentType")
    partner = Partner.objects.create(name="Round Trip B.V.", external_id="RT-1", country="NL")
    contact = Contact.objects.create(partner=partner, first_name="Rita", last_name="Trip", email="rita@rt.test")
    customers = [Customer.objects.create(external_id=f"C-{n}", name=f"Customer {n}") for n in range(3)]
    products = [Product.objects.create(sku=f"SKU-{n}", name=f"Product {n}", category="Cat") for n in range(2)]
    for n in range(6):
        Sale.objects.create(
            partner=partner,
            customer=customers[n % 3],
            product=products[n % 2],
            invoice_date=dt.date(2026, 1 + n, 10),
            amount=Decimal("100.25") * (n + 1),
            quantity=n + 1,
            external_id=f"S-{n}",
        )
    apps.get_model("partners", "SalesMonth").objects.create(
        partner=partner, month=dt.date(2026, 1, 1), revenue=Decimal("100.25"), line_count=1
    )
    apps.get_model("partners", "SalesMonthDetail").objects.create(
        partner=partner, month=dt.date(2026, 1, 1), category="Cat", country="NL", revenue=Decimal("100.25"), line_count=1
    )
    apps.get_model("partners", "CustomerFirstSale").objects.create(
        partner=partner, customer=customers[0], first_invoice_date=dt.date(2026, 1, 10)
    )
    apps.get_model("partners", "MarketFirstSale").objects.create(
        partner=partner, dimension="country", value="NL", first_month=dt.date(2026, 1, 1)
    )
    apps.get_model("partners", "ImportJob").objects.create(entity="sales", channel="cli", file_name="s.csv", rows_total=6)
    apps.get_model("partners", "DealRegistration").objects.create(
        partner=partner, customer=customers[1], title="Big deal", amount=Decimal("5000.00"), registered_on=dt.date(2026, 2, 1)
    )
    apps.get_model("partners", "Certification").objects.create(
        contact=contact, partner=partner, name="Sales 101", earned_on=dt.date(2026, 3, 1)
    )
    apps.get_model("partners", "Case").objects.create(partner=partner, subject="Pricing dispute", kind="conflict")
    for model in sum(MOVED.values(), []):
        ContentType.objects.get_or_create(app_label="partners", model=model)
    return partner


@pytest.mark.django_db(transaction=True)
def test_the_move_keeps_every_row_and_sum_there_and_back():
    if connection.vendor != "postgresql":
        pytest.skip("the round trip is about the PostgreSQL tables and triggers of production")
    old_apps = _migrate(BEFORE)
    try:
        partner = _populate(old_apps)
        before = _figures()
        assert all(figure[0] > 0 for figure in before.values()), before

        new_apps = _migrate(AFTER)
        assert _figures() == before
        assert _content_type_labels() == {model: app for app, models in MOVED.items() for model in models}
        Sale = new_apps.get_model("sales", "Sale")
        assert Sale._meta.db_table == "partners_sale"
        assert Sale.objects.filter(partner_id=partner.pk).count() == 6
        # The statement trigger of partners 0004 still refuses a sale of a partner that does not exist.
        with pytest.raises(Exception, match="refers to a missing row"), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO partners_sale (partner_id, invoice_date, quantity, amount, currency, is_credit_note, source, "
                "external_id, created_at, updated_at) VALUES (%s, '2026-01-01', 1, 1, '', false, 'x', 'orphan', now(), now())",
                [partner.pk + 10_000],
            )

        _migrate(BEFORE)
        assert _figures() == before
        assert set(_content_type_labels().values()) == {"partners"}
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
