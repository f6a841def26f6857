"""Cases: conflicts and support requests of a partner; open cases weigh on its loyalty score.

The table keeps the name it had in `partners` (moved in state only by cases/0001).
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partners.models import Partner, PartnerOwnedQuerySet
from partners.tenancy import partner_scoped_manager

# --- Cases: conflicts and support requests (the loyalty score counts them against the partner) -----


class CaseKind(models.TextChoices):
    CONFLICT = "conflict", _("Conflict")
    SUPPORT = "support", _("Support")
    CHANNEL_CONFLICT = "channel_conflict", _("Channel conflict")


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class Case(models.Model):
    """A conflict or support case of a partner; open cases weigh on its loyalty score."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="cases", verbose_name=_("partner"))
    subject = models.CharField(_("subject"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=CaseKind.choices, default=CaseKind.SUPPORT)
    status = models.CharField(_("status"), max_length=10, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    objects = partner_scoped_manager(PartnerOwnedQuerySet, "partner_id")

    class Meta:
        db_table = "partners_case"
        ordering = ["-opened_at", "-id"]
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        constraints = [
            models.CheckConstraint(condition=Q(closed_at__isnull=True) | Q(closed_at__gte=F("opened_at")), name="case_closed_after_opened"),
        ]
        indexes = [models.Index(fields=["partner", "opened_at"], name="case_partner_opened_idx")]

    def __str__(self):
        return self.subject

    def clean(self):
        if self.closed_at and self.opened_at and self.closed_at < self.opened_at:
            raise ValidationError({"closed_at": _("A case cannot be closed before it is opened.")})


