import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

MOVED_MODELS = ["dealregistration"]


def content_types_to_deals(apps, schema_editor):
    """Keep the content types (and with them the permissions, group grants and admin history) of the moved models."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.using(schema_editor.connection.alias).filter(app_label="partners", model__in=MOVED_MODELS).update(app_label="deals")


def content_types_to_partners(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.using(schema_editor.connection.alias).filter(app_label="deals", model__in=MOVED_MODELS).update(app_label="partners")


class Migration(migrations.Migration):
    """The models as they were in `partners`, with their tables (`db_table`), moved in state only."""

    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("partners", "0009_move_out_sales_deals_enablement_cases"),
        ("sales", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="DealRegistration",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("title", models.CharField(max_length=200, verbose_name="title")),
                        ("amount", models.DecimalField(decimal_places=2, default=0, max_digits=18, verbose_name="amount")),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("submitted", "Submitted"),
                                    ("approved", "Approved"),
                                    ("rejected", "Rejected"),
                                    ("won", "Won"),
                                    ("lost", "Lost"),
                                ],
                                default="submitted",
                                max_length=12,
                                verbose_name="status",
                            ),
                        ),
                        ("registered_on", models.DateField(default=django.utils.timezone.localdate, verbose_name="registered on")),
                        ("decided_on", models.DateField(blank=True, null=True, verbose_name="decided on")),
                        (
                            "customer",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="deal_registrations",
                                to="sales.customer",
                                verbose_name="customer",
                            ),
                        ),
                        (
                            "partner",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="deal_registrations",
                                to="partners.partner",
                                verbose_name="partner",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "deal registration",
                        "verbose_name_plural": "deal registrations",
                        "db_table": "partners_dealregistration",
                        "ordering": ["-registered_on", "-id"],
                        "indexes": [models.Index(fields=["partner", "status", "registered_on"], name="deal_partner_status_idx")],
                        "constraints": [
                            models.CheckConstraint(condition=models.Q(("amount__gte", 0)), name="deal_registration_amount_not_negative"),
                            models.CheckConstraint(
                                condition=models.Q(
                                    ("decided_on__isnull", True), ("decided_on__gte", models.F("registered_on")), _connector="OR"
                                ),
                                name="deal_decided_after_registered",
                            ),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_to_deals, content_types_to_partners),
    ]
