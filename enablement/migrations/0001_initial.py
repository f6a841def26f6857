import django.db.models.deletion
from django.db import migrations, models

MOVED_MODELS = ["certification"]


def content_types_to_enablement(apps, schema_editor):
    """Keep the content types (and with them the permissions, group grants and admin history) of the moved models."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.using(schema_editor.connection.alias).filter(app_label="partners", model__in=MOVED_MODELS).update(
        app_label="enablement"
    )


def content_types_to_partners(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.using(schema_editor.connection.alias).filter(app_label="enablement", model__in=MOVED_MODELS).update(
        app_label="partners"
    )


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
                    name="Certification",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("name", models.CharField(max_length=200, verbose_name="name")),
                        ("earned_on", models.DateField(verbose_name="earned on")),
                        ("expires_on", models.DateField(blank=True, null=True, verbose_name="expires on")),
                        (
                            "contact",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="certifications",
                                to="partners.contact",
                                verbose_name="contact",
                            ),
                        ),
                        (
                            "partner",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="certifications",
                                to="partners.partner",
                                verbose_name="partner",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "certification",
                        "verbose_name_plural": "certifications",
                        "db_table": "partners_certification",
                        "ordering": ["-earned_on", "-id"],
                        "indexes": [models.Index(fields=["partner", "earned_on"], name="certification_partner_idx")],
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(
                                    ("expires_on__isnull", True), ("expires_on__gte", models.F("earned_on")), _connector="OR"
                                ),
                                name="certification_expires_after_earned",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_to_enablement, content_types_to_partners),
    ]
