"""Django admin for incentives: every model, with rules inline on programs and lines inline on payouts.

Ledger rows (earning lines, points entries, audit entries, tier history) are written by the
services only, so the admin shows them read-only.
"""

from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import (
    AuditEntry,
    EarningLine,
    IncentiveSettings,
    Payout,
    PointsBalance,
    PointsEntry,
    Program,
    ProgramPeriod,
    Redemption,
    Reward,
    Rule,
    TierChange,
    TierRule,
    TierStanding,
)


class RuleInline(admin.TabularInline):
    model = Rule
    extra = 0
    fields = ["position", "kind", "name", "params", "explanation"]
    readonly_fields = ["explanation"]


class PeriodInline(admin.TabularInline):
    model = ProgramPeriod
    extra = 0
    fields = ["starts_on", "ends_on", "closed_at", "closed_by", "calculated_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "period", "starts_on", "ends_on", "earning_basis", "budget"]
    list_filter = ["status", "period", "earning_basis"]
    search_fields = ["name", "description"]
    filter_horizontal = ["tiers", "territories", "partners"]
    inlines = [RuleInline, PeriodInline]
    date_hierarchy = "starts_on"


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    list_display = ["__str__", "program", "kind", "position", "explanation"]
    list_filter = ["kind", "program__status"]
    list_select_related = ["program"]
    search_fields = ["name", "program__name"]


@admin.register(ProgramPeriod)
class ProgramPeriodAdmin(admin.ModelAdmin):
    list_display = ["program", "starts_on", "ends_on", "closed_at", "closed_by", "calculated_at"]
    list_filter = ["program", "closed_at"]
    list_select_related = ["program", "closed_by"]
    search_fields = ["program__name"]
    readonly_fields = ["closed_at", "closed_by", "calculated_at"]


@admin.register(EarningLine)
class EarningLineAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "partner", "program", "period", "rule", "kind", "reward_type", "amount", "points", "payout"]
    list_filter = ["kind", "reward_type", "program"]
    list_select_related = ["partner", "program", "period__program", "rule", "payout"]
    search_fields = ["partner__name", "partner__external_id", "reason", "program__name"]
    date_hierarchy = "created_at"


class EarningLineInline(admin.TabularInline):
    model = EarningLine
    extra = 0
    fields = ["period", "rule", "kind", "amount", "reason"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Payout)
class PayoutAdmin(admin.ModelAdmin):
    """Status changes go through the manager UI's services (audited); the admin shows them."""

    list_display = ["pk", "partner", "program", "amount", "status", "reference", "created_at", "approved_at", "paid_at"]
    list_filter = ["status", "program"]
    list_select_related = ["partner", "program"]
    search_fields = ["partner__name", "partner__external_id", "reference", "reason"]
    readonly_fields = [
        "partner",
        "program",
        "amount",
        "status",
        "reference",
        "reason",
        "line_ids",
        "created_at",
        "created_by",
        "approved_at",
        "approved_by",
        "paid_at",
        "paid_by",
        "rejected_at",
        "rejected_by",
    ]
    inlines = [EarningLineInline]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor", "action", "content_type", "object_repr"]
    list_filter = ["action", "content_type"]
    list_select_related = ["actor", "content_type"]
    search_fields = ["object_repr", "action", "actor__email"]
    date_hierarchy = "at"


@admin.register(PointsBalance)
class PointsBalanceAdmin(ReadOnlyAdmin):
    list_display = ["partner", "balance", "updated_at"]
    list_select_related = ["partner"]
    list_filter = ["updated_at"]
    search_fields = ["partner__name", "partner__external_id"]


@admin.register(PointsEntry)
class PointsEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "partner", "kind", "points", "remaining", "expires_on", "program", "note"]
    list_filter = ["kind", "program"]
    list_select_related = ["partner", "program"]
    search_fields = ["partner__name", "partner__external_id", "note"]
    date_hierarchy = "created_at"


@admin.register(Reward)
class RewardAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "points_cost", "stock", "approval_threshold", "is_active"]
    list_filter = ["kind", "is_active", "tiers"]
    search_fields = ["name", "description"]
    filter_horizontal = ["tiers"]


@admin.register(Redemption)
class RedemptionAdmin(admin.ModelAdmin):
    """Decisions go through the services (refunds, audit); the admin shows them."""

    list_display = ["created_at", "partner", "user", "reward", "points", "status", "decided_by", "decided_at"]
    list_filter = ["status", "reward__kind"]
    list_select_related = ["partner", "user", "reward", "decided_by"]
    search_fields = ["partner__name", "partner__external_id", "reward__name", "user__email"]
    readonly_fields = ["partner", "user", "reward", "points", "status", "reason", "created_at", "decided_at", "decided_by", "fulfilled_at"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False


@admin.register(TierRule)
class TierRuleAdmin(admin.ModelAdmin):
    list_display = ["tier", "min_revenue", "min_certified_contacts", "min_approved_deals", "min_loyalty_score", "downgrade_grace_months"]
    list_select_related = ["tier"]
    list_filter = ["downgrade_grace_months"]
    search_fields = ["tier__name"]


@admin.register(TierStanding)
class TierStandingAdmin(ReadOnlyAdmin):
    list_display = ["partner", "qualified_tier", "below_since", "evaluated_on"]
    list_filter = ["qualified_tier", "below_since"]
    list_select_related = ["partner", "qualified_tier"]
    search_fields = ["partner__name", "partner__external_id"]


@admin.register(TierChange)
class TierChangeAdmin(ReadOnlyAdmin):
    list_display = ["at", "partner", "from_tier", "to_tier", "reason"]
    list_filter = ["to_tier", "from_tier"]
    list_select_related = ["partner", "from_tier", "to_tier"]
    search_fields = ["partner__name", "partner__external_id", "reason"]
    date_hierarchy = "at"


@admin.register(IncentiveSettings)
class IncentiveSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "downgrade_grace_months", "redemption_approval_points"]
    list_filter = ["downgrade_grace_months"]
    search_fields = ["id"]

    def has_add_permission(self, request):
        return not IncentiveSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False
