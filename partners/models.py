"""The partner record: a small CRM of channel partners, their people and their timeline.

Every model that belongs to one partner company uses a fail-closed scoped manager
(django-scopes, see `partners.tenancy`): outside an active scope its queries raise instead of
returning every partner's rows.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from .tenancy import partner_scoped_manager


class Tier(models.Model):
    """A level of the partner programme; a higher rank is a higher tier."""

    name = models.CharField(_("name"), max_length=80, unique=True)
    rank = models.PositiveSmallIntegerField(_("rank"), unique=True, help_text=_("1 is the entry tier; higher is better."))
    colour = models.CharField(
        _("colour"),
        max_length=7,
        default="#6c757d",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Enter a colour as #RRGGBB."))],
    )
    benefits = models.TextField(_("benefits"), blank=True)

    class Meta:
        ordering = ["rank"]
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")

    def __str__(self):
        return self.name


class Territory(models.Model):
    """A sales region; territories nest (EMEA > Benelux) and list the countries they cover."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent territory"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    countries = CountryField(_("countries"), multiple=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("territory")
        verbose_name_plural = _("territories")
        constraints = [models.CheckConstraint(condition=~Q(parent=F("id")), name="territory_not_own_parent")]

    def __str__(self):
        return self.name

    def clean(self):
        ancestor = self.parent
        while ancestor is not None:
            if self.pk and ancestor.pk == self.pk:
                raise ValidationError({"parent": _("A territory cannot be inside itself.")})
            ancestor = ancestor.parent


class PartnerType(models.TextChoices):
    RESELLER = "reseller", _("Reseller")
    DISTRIBUTOR = "distributor", _("Distributor")
    VAR = "var", _("Value-added reseller")
    MSP = "msp", _("Managed service provider")
    REFERRAL = "referral", _("Referral / agent")
    ISV = "isv", _("ISV / technology")


class PartnerStatus(models.TextChoices):
    APPLICANT = "applicant", _("Applicant")
    ONBOARDING = "onboarding", _("Onboarding")
    ACTIVE = "active", _("Active")
    INACTIVE = "inactive", _("Inactive")
    CHURNED = "churned", _("Churned")


class PartnerQuerySet(models.QuerySet):
    def for_partner(self, partner):
        return self.filter(pk=partner.pk)

    def with_list_relations(self):
        return self.select_related("tier", "territory", "account_manager", "parent")


class Partner(models.Model):
    """A channel partner company: reseller, distributor, MSP and so on."""

    name = models.CharField(_("name"), max_length=200)
    legal_name = models.CharField(_("legal name"), max_length=200, blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("distributor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="resellers",
        help_text=_("For two-tier distribution: the distributor this partner buys through."),
    )
    partner_type = models.CharField(_("partner type"), max_length=20, choices=PartnerType.choices)
    status = models.CharField(_("status"), max_length=20, choices=PartnerStatus.choices, default=PartnerStatus.ONBOARDING)
    status_changed_at = models.DateTimeField(_("status changed at"), default=timezone.now)
    tier = models.ForeignKey(Tier, verbose_name=_("tier"), null=True, blank=True, on_delete=models.PROTECT, related_name="partners")
    territory = models.ForeignKey(
        Territory, verbose_name=_("territory"), null=True, blank=True, on_delete=models.PROTECT, related_name="partners"
    )
    country = CountryField(_("country"))
    account_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_partners",
        limit_choices_to={"is_staff": True},
    )
    joined_on = models.DateField(_("joined on"), null=True, blank=True)
    churned_on = models.DateField(_("churned on"), null=True, blank=True)
    website = models.URLField(_("website"), blank=True)
    external_id = models.CharField(
        _("external ID"), max_length=64, blank=True, help_text=_("The partner's key in your ERP or CRM, used by imports.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = partner_scoped_manager(PartnerQuerySet, "id")

    class Meta:
        ordering = ["name"]
        verbose_name = _("partner")
        verbose_name_plural = _("partners")
        constraints = [
            models.UniqueConstraint(fields=["external_id"], condition=~Q(external_id=""), name="partner_external_id_unique"),
            models.CheckConstraint(condition=~Q(parent=F("id")), name="partner_not_own_parent"),
            models.CheckConstraint(
                condition=Q(churned_on__isnull=True) | Q(joined_on__isnull=True) | Q(churned_on__gte=F("joined_on")),
                name="partner_churned_after_joined",
            ),
        ]
        indexes = [models.Index(fields=["status"]), models.Index(fields=["partner_type"])]

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        # The base manager is not scoped, so the rule holds whoever runs the check.
        serves_resellers = self.pk is not None and Partner._base_manager.filter(parent_id=self.pk).exists()
        if serves_resellers and self.partner_type != PartnerType.DISTRIBUTOR:
            errors["partner_type"] = _("A partner that serves resellers must stay a distributor.")
        if self.parent_id:
            if self.pk and self.parent_id == self.pk:
                errors["parent"] = _("A partner cannot be its own distributor.")
            elif self.parent.partner_type != PartnerType.DISTRIBUTOR:
                errors["parent"] = _("The parent partner must be a distributor.")
            elif self.parent.parent_id:
                errors["parent"] = _("A distributor that buys through another distributor cannot serve resellers.")
            elif serves_resellers:
                errors["parent"] = _("A distributor that serves resellers cannot buy through another distributor.")
        if self.churned_on and self.joined_on and self.churned_on < self.joined_on:
            errors["churned_on"] = _("The churn date cannot be before the join date.")
        if errors:
            raise ValidationError(errors)


class PartnerStatusChange(models.Model):
    """One change of a partner's status, so the date of every change is kept."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="status_changes", verbose_name=_("partner"))
    from_status = models.CharField(_("from"), max_length=20, choices=PartnerStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=PartnerStatus.choices)
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("changed by")
    )

    objects = partner_scoped_manager(models.QuerySet, "partner_id")

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")

    def __str__(self):
        return f"{self.partner}: {self.from_status or '-'} -> {self.to_status}"


class PartnerOwnedQuerySet(models.QuerySet):
    def for_partner(self, partner):
        return self.filter(partner=partner)


class Contact(models.Model):
    """A person at the partner company (not necessarily a portal user)."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="contacts", verbose_name=_("partner"))
    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100)
    role = models.CharField(_("role"), max_length=120, blank=True, help_text=_("For example: sales lead, technical contact."))
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = partner_scoped_manager(PartnerOwnedQuerySet, "partner_id")

    class Meta:
        ordering = ["-is_primary", "last_name", "first_name"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        constraints = [
            models.UniqueConstraint(
                fields=["partner"],
                condition=Q(is_primary=True),
                name="one_primary_contact_per_partner",
                violation_error_message=_("This partner already has a primary contact."),
            ),
        ]

    def __str__(self):
        return self.full_name

    @property
    def full_name(self):
        return f"{self.first_name} {self.last_name}".strip()


class MembershipRole(models.TextChoices):
    ADMIN = "admin", _("Partner admin")
    USER = "user", _("Partner user")


class Membership(models.Model):
    """Ties a portal user to exactly one partner company, with a role there."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership", verbose_name=_("user"))
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("partner"))
    role = models.CharField(_("role"), max_length=10, choices=MembershipRole.choices, default=MembershipRole.USER)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("invited by")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = partner_scoped_manager(PartnerOwnedQuerySet, "partner_id")

    class Meta:
        ordering = ["user__last_name", "user__first_name", "user__email"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self):
        return f"{self.user} @ {self.partner}"

    @property
    def is_admin(self):
        return self.role == MembershipRole.ADMIN


class InteractionKind(models.TextChoices):
    CALL = "call", _("Call")
    MEETING = "meeting", _("Meeting")
    EMAIL = "email", _("E-mail")
    NOTE = "note", _("Note")
    QUARTERLY_REVIEW = "quarterly_review", _("Quarterly review")
    TRAINING_COMPLETED = "training_completed", _("Training completed")
    EVENT_ATTENDED = "event_attended", _("Event attended")
    RESOURCE_DOWNLOADED = "resource_downloaded", _("Resource downloaded")
    PORTAL_LOGIN = "portal_login", _("Portal login")
    STATUS_CHANGED = "status_changed", _("Status changed")

    @classmethod
    def manual(cls):
        """Kinds a manager logs by hand; the others are written by the system."""
        return [cls.CALL, cls.MEETING, cls.EMAIL, cls.NOTE, cls.QUARTERLY_REVIEW]


class InteractionQuerySet(PartnerOwnedQuerySet):
    def visible_to_partner(self):
        return self.filter(is_internal=False)

    def timeline(self):
        return self.select_related("author").order_by("-occurred_at", "-id")


class Interaction(models.Model):
    """An entry of the partner timeline: a manager's call or note, or a system activity."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="interactions", verbose_name=_("partner"))
    kind = models.CharField(_("kind"), max_length=30, choices=InteractionKind.choices)
    occurred_at = models.DateTimeField(_("date"), default=timezone.now)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("author")
    )
    summary = models.CharField(_("summary"), max_length=255)
    details = models.TextField(_("details"), blank=True)
    is_internal = models.BooleanField(
        _("internal"), default=False, help_text=_("Internal entries are never shown to the partner's own users.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = partner_scoped_manager(InteractionQuerySet, "partner_id")

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        indexes = [models.Index(fields=["partner", "-occurred_at"]), models.Index(fields=["kind", "occurred_at"])]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.summary}"


class ApplicationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")


class PartnerApplication(models.Model):
    """A company's request to become a partner, sent through the public form."""

    company_name = models.CharField(_("company name"), max_length=200)
    legal_name = models.CharField(_("legal name"), max_length=200, blank=True)
    partner_type = models.CharField(_("partner type"), max_length=20, choices=PartnerType.choices)
    country = CountryField(_("country"))
    website = models.URLField(_("website"), blank=True)
    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100)
    email = models.EmailField(_("e-mail"))
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    message = models.TextField(_("why do you want to partner with us?"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ApplicationStatus.choices, default=ApplicationStatus.PENDING)
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("decided by")
    )
    decline_reason = models.TextField(_("reason for declining"), blank=True)
    partner = models.OneToOneField(
        Partner, null=True, blank=True, on_delete=models.SET_NULL, related_name="application", verbose_name=_("partner")
    )

    class Meta:
        ordering = ["-submitted_at"]
        verbose_name = _("partner application")
        verbose_name_plural = _("partner applications")
        indexes = [models.Index(fields=["status", "-submitted_at"])]

    def __str__(self):
        return f"{self.company_name} ({self.get_status_display()})"

    @property
    def contact_name(self):
        return f"{self.first_name} {self.last_name}".strip()


class IdempotencyKey(models.Model):
    """The first answer to a POST sent with an `Idempotency-Key` header (or a portal form's one-time
    token), so a replay within 24 hours gets the same answer and writes nothing (`partners/idempotency.py`).

    Keys are per user: two users may send the same key and never see each other's answers. A row
    without a status code is a request still being processed (the bulk import's two-phase claim).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user"))
    key = models.CharField(_("key"), max_length=255)
    method = models.CharField(_("method"), max_length=10)
    path = models.TextField(_("path"))
    fingerprint = models.CharField(_("fingerprint"), max_length=64, help_text=_("SHA-256 of the method, path and body."))
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    response_body = models.JSONField(_("response body"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_key_created_idx")]

    def __str__(self):
        return f"{self.key} ({self.method} {self.path})"
