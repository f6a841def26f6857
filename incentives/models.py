"""Incentive programs: rules, periods, the earnings ledger, payouts, points and the reward catalog.

Partner-owned rows (earnings, payouts, points, redemptions, tier history) use the fail-closed
scoped manager of `partners.tenancy`. Money is kept with 2 decimals; points are whole numbers.
The ledger is append-only: a late change becomes an adjustment line, never an edit of a closed line.
"""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.audience import AudienceMixin, AudienceQuerySet
from partners.models import Partner, PartnerOwnedQuerySet, PartnerStatus, PartnerType, Territory, Tier
from partners.tenancy import partner_scoped_manager

MONEY = {"max_digits": 18, "decimal_places": 2}


# --- Settings ----------------------------------------------------------------------------------


class IncentiveSettings(models.Model):
    """One row of defaults an admin can change (`IncentiveSettings.load()` creates it)."""

    downgrade_grace_months = models.PositiveSmallIntegerField(
        _("downgrade grace period (months)"),
        default=3,
        help_text=_("How long a partner keeps its tier after it stops qualifying, unless the tier's rule says otherwise."),
    )
    redemption_approval_points = models.PositiveIntegerField(
        _("redemptions needing approval (points)"),
        default=10000,
        help_text=_("A redemption of at least this many points waits for a manager, unless the reward sets its own threshold."),
    )

    class Meta:
        verbose_name = _("incentive settings")
        verbose_name_plural = _("incentive settings")
        constraints = [models.CheckConstraint(condition=Q(id=1), name="incentive_settings_singleton")]

    def __str__(self):
        return str(_("Incentive settings"))

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls):
        return cls.objects.get_or_create(pk=1)[0]


# --- Programs and rules ----------------------------------------------------------------------


class PeriodKind(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")
    YEARLY = "yearly", _("Yearly")


class EarningBasis(models.TextChoices):
    INVOICED = "invoiced", _("Invoiced sales")
    PAID = "paid", _("Paid sales only")


class ProgramStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    CLOSED = "closed", _("Closed")


class ProgramQuerySet(AudienceQuerySet):
    def active(self):
        return self.filter(status=ProgramStatus.ACTIVE)


class Program(AudienceMixin):
    """An incentive program: who is in it, over which periods, and the rules that pay them.

    Audience: partner types, tiers, territories and hand-picked partners; every partner but applicants.
    """

    audience_criteria = ("partner_types", "tiers", "territories", "partners")
    audience_statuses = [status for status in PartnerStatus.values if status != PartnerStatus.APPLICANT]

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True, help_text=_("Shown to partners in the portal."))
    period = models.CharField(_("period"), max_length=10, choices=PeriodKind.choices, default=PeriodKind.QUARTERLY)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    partner_types = models.JSONField(_("partner types"), default=list, blank=True, help_text=_("Empty means every partner type."))
    tiers = models.ManyToManyField(Tier, blank=True, related_name="incentive_programs", verbose_name=_("tiers"))
    territories = models.ManyToManyField(Territory, blank=True, related_name="incentive_programs", verbose_name=_("territories"))
    partners = models.ManyToManyField(
        Partner,
        blank=True,
        related_name="incentive_programs",
        verbose_name=_("hand-picked partners"),
        help_text=_("Empty means every partner the other criteria let in."),
    )
    budget = models.DecimalField(_("budget"), **MONEY, null=True, blank=True, validators=[MinValueValidator(0)])
    earning_basis = models.CharField(_("earning basis"), max_length=10, choices=EarningBasis.choices, default=EarningBasis.INVOICED)
    status = models.CharField(_("status"), max_length=10, choices=ProgramStatus.choices, default=ProgramStatus.DRAFT)
    points_expiry_months = models.PositiveSmallIntegerField(
        _("points expire after (months)"), default=24, help_text=_("Counted from the end of the period that earned them.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ProgramQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_on", "name"]
        verbose_name = _("incentive program")
        verbose_name_plural = _("incentive programs")
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="program_ends_after_start"),
            models.CheckConstraint(condition=Q(budget__isnull=True) | Q(budget__gte=0), name="program_budget_not_negative"),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            errors["ends_on"] = _("The end date cannot be before the start date.")
        valid_types = set(PartnerType.values)
        if not isinstance(self.partner_types, list) or any(value not in valid_types for value in self.partner_types):
            errors["partner_types"] = _("Choose partner types from the list.")
        if errors:
            raise ValidationError(errors)


class RuleKind(models.TextChoices):
    REVENUE_REBATE = "revenue_rebate", _("Revenue rebate (brackets)")
    GROWTH_BONUS = "growth_bonus", _("Growth bonus")
    SPIFF = "spiff", _("Product or category SPIFF")
    NEW_CUSTOMER = "new_customer", _("New-customer bonus")
    CERTIFICATION = "certification", _("Certification bonus")
    POINTS = "points", _("Points per currency unit")
    TRIP = "trip", _("Trip qualification")
    EXCLUSIVE_ACCESS = "exclusive_access", _("Exclusive resource access")
    MDF = "mdf", _("MDF credit")


class Rule(models.Model):
    """One rule of a program; `params` are validated by the kind's class in `incentives.rules`."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="rules", verbose_name=_("program"))
    kind = models.CharField(_("kind"), max_length=20, choices=RuleKind.choices)
    name = models.CharField(_("name"), max_length=200, blank=True)
    params = models.JSONField(_("parameters"), default=dict)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["program", "position", "id"]
        verbose_name = _("rule")
        verbose_name_plural = _("rules")

    def __str__(self):
        return self.name or self.get_kind_display()

    def clean(self):
        from .rules import validate_rule

        if self.kind:
            try:
                self.params = validate_rule(self.kind, self.params)
            except ValidationError as error:
                # Here the parameters are one JSON field: every message, whatever parameter it names, belongs to it.
                raise ValidationError({"params": error.messages}) from None

    @property
    def explanation(self):
        from .rules import explain_rule

        return explain_rule(self.kind, self.params) if self.kind and self.params else ""


class ProgramPeriod(models.Model):
    """One period of a program; closing it turns its sales into earnings lines."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="periods", verbose_name=_("program"))
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("closed by")
    )
    calculated_at = models.DateTimeField(
        _("last calculated at"), null=True, blank=True, help_text=_("Sales changed after this are picked up as adjustments.")
    )

    class Meta:
        ordering = ["program", "starts_on"]
        verbose_name = _("program period")
        verbose_name_plural = _("program periods")
        constraints = [
            models.UniqueConstraint(fields=["program", "starts_on"], name="program_period_unique_start"),
            models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="program_period_ends_after_start"),
        ]

    def __str__(self):
        return f"{self.program} {self.starts_on:%Y-%m-%d}..{self.ends_on:%Y-%m-%d}"

    @property
    def is_closed(self):
        return self.closed_at is not None


# --- Earnings and payouts --------------------------------------------------------------------


class LineKind(models.TextChoices):
    NORMAL = "normal", _("Normal")
    ADJUSTMENT = "adjustment", _("Adjustment")


class RewardType(models.TextChoices):
    CASH = "cash", _("Cash")
    POINTS = "points", _("Points")
    MDF = "mdf", _("MDF credit")
    TRIP = "trip", _("Trip")
    EXCLUSIVE_ACCESS = "exclusive_access", _("Exclusive access")


class EarningLine(models.Model):
    """One line of the earnings ledger; `detail` says which sales and which bracket produced it."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="earning_lines", verbose_name=_("partner"))
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="earning_lines", verbose_name=_("program"))
    period = models.ForeignKey(ProgramPeriod, on_delete=models.PROTECT, related_name="earning_lines", verbose_name=_("period"))
    rule = models.ForeignKey(Rule, on_delete=models.SET_NULL, null=True, blank=True, related_name="earning_lines", verbose_name=_("rule"))
    kind = models.CharField(_("kind"), max_length=12, choices=LineKind.choices, default=LineKind.NORMAL)
    reward_type = models.CharField(_("reward"), max_length=20, choices=RewardType.choices, default=RewardType.CASH)
    amount = models.DecimalField(_("amount"), **MONEY, default=0)
    points = models.IntegerField(_("points"), default=0)
    reason = models.TextField(_("reason"))
    detail = models.JSONField(_("reason (data)"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    payout = models.ForeignKey("Payout", on_delete=models.SET_NULL, null=True, blank=True, related_name="lines", verbose_name=_("payout"))

    objects = partner_scoped_manager(PartnerOwnedQuerySet, "partner_id")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("earning line")
        verbose_name_plural = _("earning lines")
        indexes = [
            models.Index(fields=["period", "partner", "rule"], name="earning_period_partner_idx"),
            models.Index(fields=["partner", "reward_type", "payout"], name="earning_unpaid_idx"),
        ]

    def __str__(self):
        return f"{self.partner_id} {self.get_reward_type_display()} {self.amount} / {self.points}"


class PayoutStatus(models.TextChoices):
    PENDING = "pending", _("Pending approval")
    APPROVED = "approved", _("Approved")
    PAID = "paid", _("Paid")
    REJECTED = "rejected", _("Rejected")


class Payout(models.Model):
    """A batch of a partner's unpaid cash earnings, approved and paid by finance."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="payouts", verbose_name=_("partner"))
    program = models.ForeignKey(Program, on_delete=models.PROTECT, null=True, blank=True, related_name="payouts", verbose_name=_("program"))
    amount = models.DecimalField(_("amount"), **MONEY)
    status = models.CharField(_("status"), max_length=10, choices=PayoutStatus.choices, default=PayoutStatus.PENDING)
    reference = models.CharField(_("payment reference"), max_length=120, blank=True)
    reason = models.TextField(_("reason for rejecting"), blank=True)
    line_ids = models.JSONField(_("earning lines batched"), default=list, blank=True, help_text=_("Kept after a rejection."))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("created by")
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("approved by")
    )
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("paid by")
    )
    rejected_at = models.DateTimeField(_("rejected at"), null=True, blank=True)
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("rejected by")
    )

    objects = partner_scoped_manager(PartnerOwnedQuerySet, "partner_id")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("payout")
        verbose_name_plural = _("payouts")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payout_amount_positive"),
            models.CheckConstraint(condition=~Q(status="paid") | ~Q(reference=""), name="payout_paid_has_reference"),
        ]
        indexes = [models.Index(fields=["status", "-created_at"], name="payout_status_idx")]

    def __str__(self):
        return f"{self.partner} {self.amount} ({self.get_status_display()})"


class AuditEntry(models.Model):
    """Who changed what and when, with the object's state before and after (payouts, redemptions, programs)."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("who")
    )
    at = models.DateTimeField(_("when"), default=timezone.now)
    action = models.CharField(_("action"), max_length=40)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, verbose_name=_("object type"))
    object_id = models.PositiveBigIntegerField(_("object ID"))
    target = GenericForeignKey("content_type", "object_id")
    object_repr = models.CharField(_("object"), max_length=200)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [models.Index(fields=["content_type", "object_id"], name="audit_object_idx")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_repr}"


# --- Points and the reward catalog -----------------------------------------------------------


class PointsBalance(models.Model):
    """A partner's current points; the row redemptions lock, with a CHECK as the last guard."""

    partner = models.OneToOneField(Partner, on_delete=models.CASCADE, related_name="points_balance", verbose_name=_("partner"))
    balance = models.IntegerField(_("balance"), default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = partner_scoped_manager(PartnerOwnedQuerySet, "partner_id")

    class Meta:
        verbose_name = _("points balance")
        verbose_name_plural = _("points balances")
        constraints = [models.CheckConstraint(condition=Q(balance__gte=0), name="points_balance_not_negative")]

    def __str__(self):
        return f"{self.partner}: {self.balance}"


class PointsKind(models.TextChoices):
    EARN = "earn", _("Earned")
    REDEEM = "redeem", _("Redeemed")
    EXPIRE = "expire", _("Expired")
    ADJUST = "adjust", _("Adjusted")


class PointsEntry(models.Model):
    """One movement of the points ledger; positive entries are lots that expire first-in, first-out.

    `remaining` is what is left of a lot after redemptions took from it (0 for negative entries);
    the sum of `remaining` over a partner's lots always equals its balance.
    """

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="points_entries", verbose_name=_("partner"))
    kind = models.CharField(_("kind"), max_length=10, choices=PointsKind.choices)
    points = models.IntegerField(_("points"))
    remaining = models.PositiveIntegerField(_("remaining"), default=0)
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    program = models.ForeignKey(
        Program, on_delete=models.SET_NULL, null=True, blank=True, related_name="points_entries", verbose_name=_("program")
    )
    earning_line = models.ForeignKey(
        EarningLine, on_delete=models.PROTECT, null=True, blank=True, related_name="points_entries", verbose_name=_("earning line")
    )
    redemption = models.ForeignKey(
        "Redemption", on_delete=models.PROTECT, null=True, blank=True, related_name="points_entries", verbose_name=_("redemption")
    )
    note = models.CharField(_("note"), max_length=255, blank=True)
    detail = models.JSONField(_("lots used"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = partner_scoped_manager(PartnerOwnedQuerySet, "partner_id")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("points entry")
        verbose_name_plural = _("points entries")
        constraints = [
            models.CheckConstraint(condition=Q(remaining__lte=F("points")) | Q(remaining=0), name="points_remaining_within_lot"),
        ]
        indexes = [models.Index(fields=["partner", "expires_on"], name="points_lot_idx", condition=Q(remaining__gt=0))]

    def __str__(self):
        return f"{self.partner_id} {self.get_kind_display()} {self.points}"


class RewardKind(models.TextChoices):
    GIFT_CARD = "gift_card", _("Gift card")
    MERCHANDISE = "merchandise", _("Merchandise")
    TRAVEL = "travel", _("Travel")
    EXCLUSIVE_ACCESS = "exclusive_access", _("Exclusive access")


class RewardQuerySet(AudienceQuerySet):
    def available_to(self, partner):
        """Active rewards the partner's tier may redeem (no tiers set means every tier)."""
        return self.filter(is_active=True).reaching(partner)


class Reward(AudienceMixin):
    """An item of the reward catalog; `stock` empty means unlimited. Audience: tiers, any partner status."""

    audience_criteria = ("tiers",)

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=RewardKind.choices)
    points_cost = models.PositiveIntegerField(_("points"), validators=[MinValueValidator(1)])
    stock = models.PositiveIntegerField(_("stock"), null=True, blank=True, help_text=_("Empty means unlimited."))
    tiers = models.ManyToManyField(
        Tier, blank=True, related_name="rewards", verbose_name=_("tiers"), help_text=_("Empty means every tier.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    approval_threshold = models.PositiveIntegerField(
        _("approval from (points)"),
        null=True,
        blank=True,
        help_text=_("Redemptions of at least this many points wait for a manager; empty uses the general setting."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = RewardQuerySet.as_manager()

    class Meta:
        ordering = ["points_cost", "name"]
        verbose_name = _("reward")
        verbose_name_plural = _("rewards")
        constraints = [
            models.CheckConstraint(condition=Q(stock__isnull=True) | Q(stock__gte=0), name="reward_stock_not_negative"),
            models.CheckConstraint(condition=Q(points_cost__gt=0), name="reward_cost_positive"),
        ]

    def __str__(self):
        return self.name


class RedemptionStatus(models.TextChoices):
    PENDING_APPROVAL = "pending_approval", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    FULFILLED = "fulfilled", _("Fulfilled")


class Redemption(models.Model):
    """A partner user's order of a reward; its points left the balance when it was placed."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="redemptions", verbose_name=_("partner"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="redemptions", verbose_name=_("ordered by")
    )
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="redemptions", verbose_name=_("reward"))
    points = models.PositiveIntegerField(_("points"))
    status = models.CharField(_("status"), max_length=20, choices=RedemptionStatus.choices)
    reason = models.TextField(_("reason for rejecting"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("decided by")
    )
    fulfilled_at = models.DateTimeField(_("fulfilled at"), null=True, blank=True)

    objects = partner_scoped_manager(PartnerOwnedQuerySet, "partner_id")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("redemption")
        verbose_name_plural = _("redemptions")
        indexes = [models.Index(fields=["status", "-created_at"], name="redemption_status_idx")]

    def __str__(self):
        return f"{self.reward} ({self.get_status_display()})"


# --- Tier qualification ----------------------------------------------------------------------


class TierRule(models.Model):
    """What a partner needs to qualify for a tier; every criterion must be met."""

    tier = models.OneToOneField(Tier, on_delete=models.CASCADE, related_name="qualification", verbose_name=_("tier"))
    min_revenue = models.DecimalField(_("minimum revenue (trailing 12 months)"), **MONEY, default=0, validators=[MinValueValidator(0)])
    min_certified_contacts = models.PositiveIntegerField(_("minimum certified contacts"), default=0)
    min_approved_deals = models.PositiveIntegerField(
        _("minimum approved deal registrations"), default=0, help_text=_("Approved or won, registered in the last 12 months.")
    )
    min_loyalty_score = models.DecimalField(
        _("minimum loyalty score"), max_digits=6, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    downgrade_grace_months = models.PositiveSmallIntegerField(
        _("downgrade grace period (months)"), null=True, blank=True, help_text=_("Empty uses the general setting.")
    )

    class Meta:
        ordering = ["tier__rank"]
        verbose_name = _("tier rule")
        verbose_name_plural = _("tier rules")
        constraints = [models.CheckConstraint(condition=Q(min_revenue__gte=0), name="tier_rule_revenue_not_negative")]

    def __str__(self):
        return str(self.tier)


class TierStanding(models.Model):
    """Where a partner stands against its tier's rule: since when it no longer qualifies."""

    partner = models.OneToOneField(Partner, on_delete=models.CASCADE, related_name="tier_standing", verbose_name=_("partner"))
    qualified_tier = models.ForeignKey(
        Tier, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("qualifies for")
    )
    below_since = models.DateField(_("below its tier since"), null=True, blank=True)
    evaluated_on = models.DateField(_("evaluated on"))
    metrics = models.JSONField(_("figures"), default=dict, blank=True)

    objects = partner_scoped_manager(PartnerOwnedQuerySet, "partner_id")

    class Meta:
        verbose_name = _("tier standing")
        verbose_name_plural = _("tier standings")

    def __str__(self):
        return f"{self.partner}: {self.qualified_tier or '-'}"


class TierChange(models.Model):
    """One change of a partner's tier made by the evaluation, kept as history."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="tier_changes", verbose_name=_("partner"))
    from_tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("from"))
    to_tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("to"))
    reason = models.TextField(_("reason"))
    at = models.DateTimeField(_("at"), default=timezone.now)

    objects = partner_scoped_manager(PartnerOwnedQuerySet, "partner_id")

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")

    def __str__(self):
        return f"{self.partner}: {self.from_tier or '-'} -> {self.to_tier or '-'}"
