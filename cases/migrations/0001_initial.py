import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

MOVED_MODELS = ["case"]


def content_types_to_cases(apps, schema_editor):
    """Keep the content types (and with them the permissions, group grants and admin history) of the moved models."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.using(schema_editor.connection.alias).filter(app_label="partners", model__in=MOVED_MODELS).update(app_label="cases")


def content_types_to_partners(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.using(schema_editor.connection.alias).filter(app_label="cases", model__in=MOVED_MODELS).update(app_label="partners")


class Migration(migrations.Migration):
    """The models as they were in `partners`, with their tables (`db_table`), moved in state only."""

    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("partners", "0009_move_out_sales_deals_enablement_cases"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Case",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("subject", models.CharField(max_length=200, verbose_name="subject")),
                        (
                            "kind",
                            models.CharField(
                                choices=[("conflict", "Conflict"), ("support", "Support"), ("channel_conflict", "Channel conflict")],
                                default="support",
                                max_length=20,
                                verbose_name="kind",
                            ),
                        ),
                        (
                            "status",
                            models.CharField(
                                choices=[("open", "Open"), ("closed", "Closed")], default="open", max_length=10, verbose_name="status"
                            ),
                        ),
                        ("opened_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="opened at")),
                        ("closed_at", models.DateTimeField(blank=True, null=True, verbose_name="closed at")),
                        (
                            "partner",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="cases",
                                to="partners.partner",
                                verbose_name="partner",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "case",
                        "verbose_name_plural": "cases",
                        "db_table": "partners_case",
                        "ordering": ["-opened_at", "-id"],
                        "indexes": [models.Index(fields=["partner", "opened_at"], name="case_partner_opened_idx")],
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(("closed_at__isnull", True), ("closed_at__gte", models.F("opened_at")), _connector="OR"),
                                name="case_closed_after_opened",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_to_cases, content_types_to_partners),
    ]
