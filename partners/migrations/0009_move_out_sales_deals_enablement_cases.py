from django.db import migrations


class Migration(migrations.Migration):
    """The sales data, certifications, deal registrations and cases move to their own apps (sales, enablement,
    deals, cases) in Django's state only: the tables, their data and the triggers of 0004 stay as they are."""

    dependencies = [
        ("partners", "0008_idempotency_key"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name="certification",
                    name="contact",
                ),
                migrations.RemoveField(
                    model_name="certification",
                    name="partner",
                ),
                migrations.RemoveField(
                    model_name="dealregistration",
                    name="customer",
                ),
                migrations.RemoveField(
                    model_name="sale",
                    name="customer",
                ),
                migrations.RemoveField(
                    model_name="customerfirstsale",
                    name="customer",
                ),
                migrations.RemoveField(
                    model_name="customerfirstsale",
                    name="partner",
                ),
                migrations.RemoveField(
                    model_name="dealregistration",
                    name="partner",
                ),
                migrations.RemoveField(
                    model_name="importjob",
                    name="created_by",
                ),
                migrations.RemoveField(
                    model_name="marketfirstsale",
                    name="partner",
                ),
                migrations.RemoveField(
                    model_name="sale",
                    name="product",
                ),
                migrations.RemoveField(
                    model_name="sale",
                    name="partner",
                ),
                migrations.RemoveField(
                    model_name="salesmonth",
                    name="partner",
                ),
                migrations.RemoveField(
                    model_name="salesmonthdetail",
                    name="partner",
                ),
                migrations.DeleteModel(
                    name="Case",
                ),
                migrations.DeleteModel(
                    name="Certification",
                ),
                migrations.DeleteModel(
                    name="Customer",
                ),
                migrations.DeleteModel(
                    name="CustomerFirstSale",
                ),
                migrations.DeleteModel(
                    name="DealRegistration",
                ),
                migrations.DeleteModel(
                    name="ImportJob",
                ),
                migrations.DeleteModel(
                    name="MarketFirstSale",
                ),
                migrations.DeleteModel(
                    name="Product",
                ),
                migrations.DeleteModel(
                    name="Sale",
                ),
                migrations.DeleteModel(
                    name="SalesMonth",
                ),
                migrations.DeleteModel(
                    name="SalesMonthDetail",
                ),
            ],
            database_operations=[],
        ),
    ]
