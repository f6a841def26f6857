"""Enablement: what partners learn and earn. Today the certifications that tier rules, incentive rules
and the engagement KPI read.

The table keeps the name it had in `partners` (moved in state only by enablement/0001).
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from partners.models import Contact, Partner, PartnerOwnedQuerySet
from partners.tenancy import partner_scoped_manager

# --- Certifications and deal registrations (tier qualification and incentive rules read them) -----


class Certification(models.Model):
    """A certification a partner's contact earned; `partner` repeats the contact's for scoping."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="certifications", verbose_name=_("contact"))
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="certifications", verbose_name=_("partner"))
    name = models.CharField(_("name"), max_length=200)
    earned_on = models.DateField(_("earned on"))
    expires_on = models.DateField(_("expires on"), null=True, blank=True)

    objects = partner_scoped_manager(PartnerOwnedQuerySet, "partner_id")

    class Meta:
        db_table = "partners_certification"
        ordering = ["-earned_on", "-id"]
        verbose_name = _("certification")
        verbose_name_plural = _("certifications")
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_on__isnull=True) | Q(expires_on__gte=F("earned_on")), name="certification_expires_after_earned"
            ),
        ]
        indexes = [models.Index(fields=["partner", "earned_on"], name="certification_partner_idx")]

    def __str__(self):
        return f"{self.name} ({self.contact_id})"

    def clean(self):
        errors = {}
        if self.contact_id and self.partner_id and self.contact.partner_id != self.partner_id:
            errors["contact"] = _("The contact must belong to the same partner.")
        if self.expires_on and self.earned_on and self.expires_on < self.earned_on:
            errors["expires_on"] = _("A certification cannot expire before it is earned.")
        if errors:
            raise ValidationError(errors)


