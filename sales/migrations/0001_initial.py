import django.db.models.deletion
import django.utils.timezone
import django_countries.fields
from django.conf import settings
from django.db import migrations, models

MOVED_MODELS = ["customer", "product", "sale", "salesmonth", "salesmonthdetail", "importjob", "customerfirstsale", "marketfirstsale"]


def content_types_to_sales(apps, schema_editor):
    """Keep the content types (and with them the permissions, group grants and admin history) of the moved models."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.using(schema_editor.connection.alias).filter(app_label="partners", model__in=MOVED_MODELS).update(app_label="sales")


def content_types_to_partners(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.using(schema_editor.connection.alias).filter(app_label="sales", model__in=MOVED_MODELS).update(app_label="partners")


class Migration(migrations.Migration):
    """The models as they were in `partners`, with their tables (`db_table`), moved in state only."""

    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("partners", "0009_move_out_sales_deals_enablement_cases"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Customer",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("external_id", models.CharField(max_length=64, unique=True, verbose_name="external ID")),
                        ("name", models.CharField(max_length=200, verbose_name="name")),
                        ("country", django_countries.fields.CountryField(blank=True, max_length=2, verbose_name="country")),
                        ("region", models.CharField(blank=True, max_length=120, verbose_name="region")),
                        ("segment", models.CharField(blank=True, max_length=80, verbose_name="segment")),
                        ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at")),
                        ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
                    ],
                    options={
                        "verbose_name": "customer",
                        "verbose_name_plural": "customers",
                        "db_table": "partners_customer",
                        "ordering": ["name"],
                    },
                ),
                migrations.CreateModel(
                    name="Product",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("sku", models.CharField(max_length=64, unique=True, verbose_name="SKU")),
                        ("name", models.CharField(max_length=200, verbose_name="name")),
                        ("category", models.CharField(blank=True, max_length=120, verbose_name="category")),
                        (
                            "list_price",
                            models.DecimalField(blank=True, decimal_places=4, max_digits=18, null=True, verbose_name="list price"),
                        ),
                        ("is_active", models.BooleanField(default=True, verbose_name="active")),
                        ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at")),
                        ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
                    ],
                    options={
                        "verbose_name": "product",
                        "verbose_name_plural": "products",
                        "db_table": "partners_product",
                        "ordering": ["sku"],
                    },
                ),
                migrations.CreateModel(
                    name="CustomerFirstSale",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("first_invoice_date", models.DateField(verbose_name="first invoice date")),
                        (
                            "customer",
                            models.ForeignKey(
                                db_constraint=False,
                                db_index=False,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="sales.customer",
                            ),
                        ),
                        (
                            "partner",
                            models.ForeignKey(
                                db_constraint=False,
                                db_index=False,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="customer_first_sales",
                                to="partners.partner",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "first sale to a customer",
                        "verbose_name_plural": "first sales to customers",
                        "db_table": "partners_customerfirstsale",
                        "ordering": ["partner", "first_invoice_date"],
                        "indexes": [models.Index(fields=["first_invoice_date", "partner"], name="customer_first_sale_date_idx")],
                        "constraints": [models.UniqueConstraint(fields=("partner", "customer"), name="customer_first_sale_unique")],
                    },
                ),
                migrations.CreateModel(
                    name="ImportJob",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        (
                            "entity",
                            models.CharField(
                                choices=[
                                    ("partners", "Partners"),
                                    ("customers", "Customers"),
                                    ("products", "Products"),
                                    ("sales", "Sales"),
                                ],
                                max_length=20,
                                verbose_name="data",
                            ),
                        ),
                        (
                            "channel",
                            models.CharField(
                                choices=[("cli", "Command line"), ("upload", "Upload"), ("api", "API")],
                                max_length=10,
                                verbose_name="channel",
                            ),
                        ),
                        ("file_name", models.CharField(blank=True, max_length=255, verbose_name="file name")),
                        ("file", models.FileField(blank=True, upload_to="imports/%Y/%m/", verbose_name="file")),
                        ("options", models.JSONField(blank=True, default=dict, verbose_name="options")),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("pending", "Waiting"),
                                    ("running", "Running"),
                                    ("succeeded", "Imported"),
                                    ("validated", "Validated (dry run)"),
                                    ("rejected", "Rejected"),
                                    ("failed", "Failed"),
                                ],
                                default="pending",
                                max_length=12,
                                verbose_name="status",
                            ),
                        ),
                        ("phase", models.CharField(blank=True, max_length=60, verbose_name="phase")),
                        ("progress", models.PositiveSmallIntegerField(default=0, verbose_name="progress (%)")),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="created at")),
                        ("started_at", models.DateTimeField(blank=True, null=True, verbose_name="started at")),
                        ("finished_at", models.DateTimeField(blank=True, null=True, verbose_name="finished at")),
                        ("rows_total", models.PositiveIntegerField(default=0, verbose_name="rows")),
                        ("rows_created", models.PositiveIntegerField(default=0, verbose_name="created")),
                        ("rows_updated", models.PositiveIntegerField(default=0, verbose_name="updated")),
                        ("rows_unchanged", models.PositiveIntegerField(default=0, verbose_name="unchanged")),
                        ("rows_rejected", models.PositiveIntegerField(default=0, verbose_name="rejected")),
                        ("message", models.TextField(blank=True, verbose_name="message")),
                        ("errors", models.JSONField(blank=True, default=list, verbose_name="rejected rows")),
                        (
                            "created_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="started by",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "import",
                        "verbose_name_plural": "imports",
                        "db_table": "partners_importjob",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [models.Index(fields=["-created_at"], name="import_job_created_idx")],
                    },
                ),
                migrations.CreateModel(
                    name="MarketFirstSale",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        (
                            "dimension",
                            models.CharField(
                                choices=[("country", "Country"), ("category", "Product category")], max_length=10, verbose_name="dimension"
                            ),
                        ),
                        ("value", models.CharField(max_length=120, verbose_name="value")),
                        ("first_month", models.DateField(verbose_name="first month")),
                        (
                            "partner",
                            models.ForeignKey(
                                db_constraint=False,
                                db_index=False,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="market_first_sales",
                                to="partners.partner",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "first sale in a market",
                        "verbose_name_plural": "first sales in markets",
                        "db_table": "partners_marketfirstsale",
                        "ordering": ["partner", "dimension", "first_month", "value"],
                        "indexes": [models.Index(fields=["dimension", "first_month", "partner"], name="market_first_sale_month_idx")],
                        "constraints": [models.UniqueConstraint(fields=("partner", "dimension", "value"), name="market_first_sale_unique")],
                    },
                ),
                migrations.CreateModel(
                    name="Sale",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("invoice_date", models.DateField(verbose_name="invoice date")),
                        ("paid_date", models.DateField(blank=True, null=True, verbose_name="paid date")),
                        ("quantity", models.DecimalField(decimal_places=4, default=1, max_digits=18, verbose_name="quantity")),
                        (
                            "amount",
                            models.DecimalField(decimal_places=4, help_text="In the base currency.", max_digits=18, verbose_name="amount"),
                        ),
                        ("currency", models.CharField(blank=True, max_length=3, verbose_name="original currency")),
                        (
                            "original_amount",
                            models.DecimalField(blank=True, decimal_places=4, max_digits=18, null=True, verbose_name="original amount"),
                        ),
                        ("is_credit_note", models.BooleanField(default=False, verbose_name="credit note")),
                        ("source", models.CharField(default="erp", max_length=40, verbose_name="source")),
                        ("external_id", models.CharField(max_length=64, verbose_name="external ID")),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="created at")),
                        ("updated_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="updated at")),
                        (
                            "customer",
                            models.ForeignKey(
                                blank=True,
                                db_constraint=False,
                                db_index=False,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="sales",
                                to="sales.customer",
                                verbose_name="customer",
                            ),
                        ),
                        (
                            "partner",
                            models.ForeignKey(
                                db_constraint=False,
                                db_index=False,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="sales",
                                to="partners.partner",
                                verbose_name="partner",
                            ),
                        ),
                        (
                            "product",
                            models.ForeignKey(
                                blank=True,
                                db_constraint=False,
                                db_index=False,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="sales",
                                to="sales.product",
                                verbose_name="product",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "sale",
                        "verbose_name_plural": "sales",
                        "db_table": "partners_sale",
                        "ordering": ["-invoice_date", "-id"],
                        "indexes": [models.Index(fields=["partner", "invoice_date"], name="sale_partner_date_idx")],
                        "constraints": [
                            models.UniqueConstraint(fields=("source", "external_id"), name="sale_source_external_id_unique"),
                            models.CheckConstraint(
                                condition=models.Q(("is_credit_note", models.Q(("amount__lt", 0)))), name="sale_credit_note_iff_negative"
                            ),
                            models.CheckConstraint(
                                condition=models.Q(("quantity__gte", 0), ("amount__lt", 0), _connector="OR"),
                                name="sale_negative_quantity_only_on_credit",
                            ),
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="SalesMonth",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("month", models.DateField(help_text="The first day of the month.", verbose_name="month")),
                        ("revenue", models.DecimalField(decimal_places=4, default=0, max_digits=20, verbose_name="revenue")),
                        ("paid_revenue", models.DecimalField(decimal_places=4, default=0, max_digits=20, verbose_name="paid revenue")),
                        ("credit_amount", models.DecimalField(decimal_places=4, default=0, max_digits=20, verbose_name="credit notes")),
                        ("quantity", models.DecimalField(decimal_places=4, default=0, max_digits=20, verbose_name="quantity")),
                        ("line_count", models.PositiveIntegerField(default=0, verbose_name="invoice lines")),
                        ("customer_count", models.PositiveIntegerField(default=0, verbose_name="customers")),
                        (
                            "partner",
                            models.ForeignKey(
                                db_constraint=False,
                                db_index=False,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="sales_months",
                                to="partners.partner",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "monthly sales",
                        "verbose_name_plural": "monthly sales",
                        "db_table": "partners_salesmonth",
                        "ordering": ["partner", "month"],
                        "indexes": [models.Index(fields=["month"], name="sales_month_month_idx")],
                        "constraints": [models.UniqueConstraint(fields=("partner", "month"), name="sales_month_unique")],
                    },
                ),
                migrations.CreateModel(
                    name="SalesMonthDetail",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("month", models.DateField(verbose_name="month")),
                        ("category", models.CharField(blank=True, max_length=120, verbose_name="category")),
                        ("country", models.CharField(blank=True, max_length=2, verbose_name="country")),
                        ("revenue", models.DecimalField(decimal_places=4, default=0, max_digits=20, verbose_name="revenue")),
                        ("paid_revenue", models.DecimalField(decimal_places=4, default=0, max_digits=20, verbose_name="paid revenue")),
                        ("quantity", models.DecimalField(decimal_places=4, default=0, max_digits=20, verbose_name="quantity")),
                        ("line_count", models.PositiveIntegerField(default=0, verbose_name="invoice lines")),
                        (
                            "partner",
                            models.ForeignKey(
                                db_constraint=False,
                                db_index=False,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="sales_month_details",
                                to="partners.partner",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "monthly sales detail",
                        "verbose_name_plural": "monthly sales details",
                        "db_table": "partners_salesmonthdetail",
                        "ordering": ["partner", "month", "category", "country"],
                        "indexes": [models.Index(fields=["month", "country"], name="sales_detail_month_country_idx")],
                        "constraints": [
                            models.UniqueConstraint(fields=("partner", "month", "category", "country"), name="sales_month_detail_unique")
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_to_sales, content_types_to_partners),
    ]
