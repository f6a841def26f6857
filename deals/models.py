"""Deal registration: the deals a partner claims. Approved and won deals count for tiers and incentives.

The table keeps the name it had in `partners` (moved in state only by deals/0001).
"""

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partners.models import Partner, PartnerOwnedQuerySet
from partners.tenancy import partner_scoped_manager
from sales.models import Customer


class DealStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class DealRegistration(models.Model):
    """A deal a partner registered to claim it; approved (and later won) deals count for tiers."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="deal_registrations", verbose_name=_("partner"))
    customer = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="deal_registrations", verbose_name=_("customer")
    )
    title = models.CharField(_("title"), max_length=200)
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2, default=0)
    status = models.CharField(_("status"), max_length=12, choices=DealStatus.choices, default=DealStatus.SUBMITTED)
    registered_on = models.DateField(_("registered on"), default=timezone.localdate)
    decided_on = models.DateField(_("decided on"), null=True, blank=True)

    objects = partner_scoped_manager(PartnerOwnedQuerySet, "partner_id")

    class Meta:
        db_table = "partners_dealregistration"
        ordering = ["-registered_on", "-id"]
        verbose_name = _("deal registration")
        verbose_name_plural = _("deal registrations")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="deal_registration_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(decided_on__isnull=True) | Q(decided_on__gte=F("registered_on")), name="deal_decided_after_registered"
            ),
        ]
        indexes = [models.Index(fields=["partner", "status", "registered_on"], name="deal_partner_status_idx")]

    def __str__(self):
        return self.title


