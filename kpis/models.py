"""Loyalty-score tables: the versioned score model, one snapshot per partner per day, at-risk alerts.

The KPI formulas themselves live in `kpis.definitions`; the score arithmetic in `kpis.scoring`.
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partners.models import Partner, PartnerOwnedQuerySet
from partners.tenancy import partner_scoped_manager

from .definitions import COMPONENTS, default_parameters, default_weights

PERCENT = [MinValueValidator(0), MaxValueValidator(100)]


class Band(models.TextChoices):
    HEALTHY = "healthy", _("Healthy")
    WATCH = "watch", _("Watch")
    AT_RISK = "at_risk", _("At risk")


class ScoreModelQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class ScoreModel(models.Model):
    """One version of the loyalty-score recipe; snapshots point at the version that made them.

    A version that has scored snapshots is frozen (admin shows it read-only): change the recipe by
    copying it into a new version and activating that one, so every old score stays explainable.
    """

    version = models.PositiveIntegerField(_("version"), unique=True)
    name = models.CharField(_("name"), max_length=120, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    is_active = models.BooleanField(_("active"), default=False)
    weights = models.JSONField(
        _("weights"),
        default=default_weights,
        help_text=_('Relative weight of each component, for example {"sales": 20, "engagement": 20}; 0 leaves it out.'),
    )
    parameters = models.JSONField(
        _("normalisation"),
        default=default_parameters,
        help_text=_('Per component: the raw value that scores 0 ("floor") and the one that scores 100 ("target").'),
    )
    healthy_min = models.PositiveSmallIntegerField(_("healthy from"), default=80, validators=PERCENT)
    watch_min = models.PositiveSmallIntegerField(_("watch from"), default=50, validators=PERCENT)
    alert_below = models.PositiveSmallIntegerField(
        _("alert below"), default=50, validators=PERCENT, help_text=_("Alert when a score falls below this value.")
    )
    alert_drop_points = models.PositiveSmallIntegerField(
        _("alert on a drop of more than"), default=15, validators=PERCENT, help_text=_("Points lost within the drop window.")
    )
    alert_drop_days = models.PositiveSmallIntegerField(_("drop window (days)"), default=30, validators=[MinValueValidator(1)])
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)

    objects = ScoreModelQuerySet.as_manager()

    class Meta:
        ordering = ["-version"]
        verbose_name = _("score model")
        verbose_name_plural = _("score models")
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True), name="one_active_score_model"),
            models.CheckConstraint(condition=Q(healthy_min__gt=models.F("watch_min")), name="score_model_bands_ordered"),
        ]

    def __str__(self):
        return f"v{self.version} {self.name}".strip()

    def clean(self):
        errors = {}
        weights = self.weights if isinstance(self.weights, dict) else None
        if weights is None or set(weights) - set(COMPONENTS):
            errors["weights"] = _("Use an object whose keys are components: %(names)s.") % {"names": ", ".join(COMPONENTS)}
        elif any(not _is_number(value) or Decimal(str(value)) < 0 for value in weights.values()):
            errors["weights"] = _("Every weight must be a number of 0 or more.")
        elif not any(Decimal(str(value)) > 0 for value in weights.values()):
            errors["weights"] = _("At least one weight must be above 0.")
        parameters = self.parameters if isinstance(self.parameters, dict) else None
        if parameters is None or set(parameters) - set(COMPONENTS):
            errors["parameters"] = _("Use an object whose keys are components: %(names)s.") % {"names": ", ".join(COMPONENTS)}
        else:
            for name, bounds in parameters.items():
                if not isinstance(bounds, dict) or not {"floor", "target"} <= set(bounds):
                    errors["parameters"] = _('Give %(name)s a "floor" and a "target".') % {"name": name}
                elif not (_is_number(bounds["floor"]) and _is_number(bounds["target"])) or bounds["floor"] == bounds["target"]:
                    errors["parameters"] = _("The floor and target of %(name)s must be different numbers.") % {"name": name}
        if self.watch_min is not None and self.healthy_min is not None and self.healthy_min <= self.watch_min:
            errors["healthy_min"] = _("The healthy band must start above the watch band.")
        if errors:
            raise ValidationError(errors)

    def weight(self, name):
        return Decimal(str(self.weights.get(name, 0)))

    def bounds(self, name):
        """(floor, target) of a component: the model's, else the default of the code."""
        bounds = self.parameters.get(name) or default_parameters()[name]
        return Decimal(str(bounds["floor"])), Decimal(str(bounds["target"]))

    def band_for(self, score):
        if score >= self.healthy_min:
            return Band.HEALTHY
        if score >= self.watch_min:
            return Band.WATCH
        return Band.AT_RISK

    @property
    def is_used(self):
        return self.snapshots.exists()


def _is_number(value):
    return isinstance(value, int | float) and not isinstance(value, bool)


class ScoreSnapshot(models.Model):
    """A partner's loyalty score on one day, with every component's raw value, normalised value and weight.

    `components` maps a component name to {"raw", "normalised", "weight", "absent"}; an absent
    component had no data and was left out (its weight shared by the others), it did not score 0.
    """

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="score_snapshots", verbose_name=_("partner"))
    date = models.DateField(_("date"))
    score_model = models.ForeignKey(ScoreModel, on_delete=models.PROTECT, related_name="snapshots", verbose_name=_("score model"))
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=2)
    band = models.CharField(_("band"), max_length=10, choices=Band.choices)
    components = models.JSONField(_("components"), default=dict)
    computed_at = models.DateTimeField(_("computed at"), default=timezone.now)

    objects = partner_scoped_manager(PartnerOwnedQuerySet, "partner_id")

    class Meta:
        ordering = ["-date", "partner_id"]
        verbose_name = _("score snapshot")
        verbose_name_plural = _("score snapshots")
        constraints = [
            models.UniqueConstraint(fields=["partner", "date"], name="score_snapshot_partner_date_unique"),
            models.CheckConstraint(condition=Q(score__gte=0, score__lte=100), name="score_snapshot_score_range"),
        ]
        indexes = [
            models.Index(fields=["date", "score"], name="score_snapshot_date_score_idx"),
            # the nightly alert check aggregates a window of days per partner from this index alone
            models.Index(fields=["date", "partner", "score"], name="score_snapshot_window_idx"),
        ]

    def __str__(self):
        return f"{self.partner_id} {self.date}: {self.score}"


class AlertKind(models.TextChoices):
    BELOW_THRESHOLD = "below_threshold", _("Score below threshold")
    SHARP_DROP = "sharp_drop", _("Sharp drop")


class Alert(models.Model):
    """An at-risk signal for the account manager; raised once per fall (see docs/kpis.md, "Alerts")."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="score_alerts", verbose_name=_("partner"))
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=20, choices=AlertKind.choices)
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=2)
    reference_score = models.DecimalField(_("compared with"), max_digits=5, decimal_places=2, null=True, blank=True)
    message = models.TextField(_("message"))
    components = models.JSONField(_("components that moved most"), default=list, blank=True)
    notified_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("acknowledged by")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = partner_scoped_manager(PartnerOwnedQuerySet, "partner_id")

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name = _("at-risk alert")
        verbose_name_plural = _("at-risk alerts")
        constraints = [models.UniqueConstraint(fields=["partner", "date", "kind"], name="alert_partner_date_kind_unique")]
        indexes = [models.Index(fields=["date"], name="alert_date_idx")]

    def __str__(self):
        return f"{self.partner_id} {self.date} {self.get_kind_display()}"


class ChannelDay(models.Model):
    """Channel-wide figures of one scored day, written after every recompute of that day.

    The scorecard and the portal compare a partner with the channel's medians; reading them here
    costs one row, where computing them means decoding every partner's snapshot of the day.
    `components` maps a component to {"median": normalised median or None, "present": partners
    measured}; `histogram[k]` counts the scores from k to k + 1 (100 counts the 100s).
    """

    date = models.DateField(_("date"), unique=True)
    partners = models.PositiveIntegerField(_("partners scored"), default=0)
    median_score = models.DecimalField(_("median score"), max_digits=6, decimal_places=3, null=True, blank=True)
    score_sum = models.DecimalField(_("sum of the scores"), max_digits=14, decimal_places=2, default=0)
    bands = models.JSONField(_("partners per band"), default=dict)
    histogram = models.JSONField(_("partners per score point"), default=list)
    components = models.JSONField(_("component medians"), default=dict)
    computed_at = models.DateTimeField(_("computed at"), default=timezone.now)

    class Meta:
        ordering = ["-date"]
        verbose_name = _("channel day")
        verbose_name_plural = _("channel days")

    def __str__(self):
        return f"{self.date}: {self.partners}"


class ChannelCube(models.Model):
    """The state of the channel cube (`ChannelMonth` cells and `PartnerSet` bitmaps): when it was built.

    One row. The channel overview reads the cube instead of the rollups and activity tables, so
    its cost depends on the number of cells, not of partners; `kpis.services.channel_cube_refresh`
    rebuilds it as a whole inside one transaction (after the nightly recompute, after every sales
    import, every 10 minutes by beat, and on demand), so a reader sees one build or the next.
    """

    built_at = models.DateTimeField(_("built at"))
    built_on = models.DateField(_("built on"), help_text=_("The local day of the build: the sets named now are as of its end."))
    first_month = models.DateField(_("first month"))
    last_month = models.DateField(_("last month"))
    partners = models.PositiveIntegerField(_("partners"), default=0)
    cells = models.PositiveIntegerField(_("cells"), default=0)
    seconds = models.DecimalField(_("seconds"), max_digits=9, decimal_places=3, default=0)

    class Meta:
        verbose_name = _("channel cube")
        verbose_name_plural = _("channel cube")

    def __str__(self):
        return f"{self.built_at:%Y-%m-%d %H:%M}"


class ChannelMonth(models.Model):
    """One cell of the channel cube: the additive figures of one month for the partners sharing a type,
    tier, territory and account manager (their current ones at the build). Ids are plain numbers, not
    foreign keys: a cell is rebuilt with the cube, never edited, and outlives nothing it points at."""

    month = models.DateField(_("month"))
    partner_type = models.CharField(_("type"), max_length=20)
    tier_id = models.BigIntegerField(_("tier"), null=True)
    territory_id = models.BigIntegerField(_("territory"), null=True)
    account_manager_id = models.BigIntegerField(_("account manager"), null=True)
    revenue = models.DecimalField(_("revenue"), max_digits=22, decimal_places=4, default=0)  # as the rollups
    participant_revenue = models.DecimalField(_("revenue of incentive participants"), max_digits=22, decimal_places=4, default=0)
    incentive_cost = models.DecimalField(_("incentive cost"), max_digits=18, decimal_places=2, default=0)
    incentive_points = models.BigIntegerField(_("incentive points"), default=0)
    new_customers = models.PositiveIntegerField(_("new customers"), default=0)
    new_countries = models.PositiveIntegerField(_("new countries"), default=0)
    new_categories = models.PositiveIntegerField(_("new categories"), default=0)
    engagement_points = models.PositiveIntegerField(_("engagement points"), default=0)
    nps_answers = models.PositiveIntegerField(_("NPS answers"), default=0)
    nps_promoters = models.PositiveIntegerField(_("promoters"), default=0)
    nps_passives = models.PositiveIntegerField(_("passives"), default=0)
    nps_detractors = models.PositiveIntegerField(_("detractors"), default=0)

    class Meta:
        ordering = ["month"]
        verbose_name = _("channel cube cell")
        verbose_name_plural = _("channel cube cells")
        indexes = [models.Index(fields=["month"], name="channel_month_month_idx")]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.partner_type}/{self.tier_id}/{self.territory_id}/{self.account_manager_id}"


class PartnerSet(models.Model):
    """A set of partners of the channel cube as a bitmap: bit n (little-endian) set means partner n is in it.

    Names: "active:YYYY-MM" / "retained:YYYY-MM" / "channel:YYYY-MM" at the end of that month,
    the same with "now" at the end of the build day, "current" (status now, as the tier
    distribution counts), "joined:YYYY-MM" (joined that month, by the build day), and the filter
    sets "territory:<id>", "tier:<id>", "partner_type:<value>", "account_manager:<id>".
    Retention and the partners in the channel pair two moments per partner, which no sum of cells
    can give; an AND of two bitmaps and a bit count can, whatever the number of partners.
    """

    name = models.CharField(_("name"), max_length=60, unique=True)
    bits = models.BinaryField(_("bits"))

    class Meta:
        verbose_name = _("partner set")
        verbose_name_plural = _("partner sets")

    def __str__(self):
        return self.name
