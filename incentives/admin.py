"""Django admin for incentives: every model, with rules inline on programs and lines inline on payouts.

Programs, rules, tier rules and rewards are saved and deleted through `incentives.services` (the
`ServiceAdmin` base), so an admin change gets the same checks and audit entry as the manager pages.

Ledger rows (earning lines, points entries, audit entries, tier history) are written by the
services only, so the admin shows them read-only.
"""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdmin, ServiceAdmin

from . import services
from .models import (
    AuditEntry,
    EarningLine,
    IncentiveSettings,
    Payout,
    PointsBalance,
    PointsEntry,
    Program,
    ProgramPeriod,
    ProgramStatus,
    Redemption,
    Reward,
    Rule,
    TierChange,
    TierRule,
    TierStanding,
)


class RuleInline(admin.TabularInline):
    """The rules of a program: editable while it is a draft, read-only once partners have seen them."""

    model = Rule
    extra = 0
    fields = ["position", "kind", "name", "params", "explanation"]
    readonly_fields = ["explanation"]

    def has_add_permission(self, request, obj=None):
        return _is_draft(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return _is_draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return _is_draft(obj) and super().has_delete_permission(request, obj)


def _is_draft(program):
    return program is None or program.status == ProgramStatus.DRAFT


class PeriodInline(admin.TabularInline):
    model = ProgramPeriod
    extra = 0
    fields = ["starts_on", "ends_on", "closed_at", "closed_by", "calculated_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


PROGRAM_EDITABLE_WHEN_RUNNING = {"name", "description", "budget", "ends_on"}
PROGRAM_RELATIONS = ("tiers", "territories", "partners")


@admin.register(Program)
class ProgramAdmin(ServiceAdmin):
    """Programs through `incentives.services`: audited, and once active only the texts, budget and end
    date can change (the status moves with the activate and close actions)."""

    list_display = ["name", "status", "period", "starts_on", "ends_on", "earning_basis", "budget"]
    list_filter = ["status", "period", "earning_basis"]
    search_fields = ["name", "description"]
    filter_horizontal = ["tiers", "territories", "partners"]
    inlines = [RuleInline, PeriodInline]
    date_hierarchy = "starts_on"
    actions = ["activate", "close"]

    def get_readonly_fields(self, request, obj=None):
        if _is_draft(obj):
            return ["status"]
        return ["status", *(name for name in (*services.PROGRAM_FIELDS, *PROGRAM_RELATIONS) if name not in PROGRAM_EDITABLE_WHEN_RUNNING)]

    def has_delete_permission(self, request, obj=None):
        return _is_draft(obj) and super().has_delete_permission(request, obj)

    def service_save(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in services.PROGRAM_FIELDS if name in form.cleaned_data}
        relations = {name: form.cleaned_data[name] for name in PROGRAM_RELATIONS if name in form.cleaned_data}
        if not change:
            return services.program_create(by=request.user, **relations, **fields)
        changed = {name: value for name, value in fields.items() if name in form.changed_data}
        changed_relations = {name: value for name, value in relations.items() if name in form.changed_data}
        return services.program_update(program=obj, by=request.user, **changed_relations, **changed)

    def service_delete(self, request, obj):
        services.program_delete(program=obj, by=request.user)

    def save_formset(self, request, form, formset, change):
        if formset.model is not Rule:
            return super().save_formset(request, form, formset, change)
        program = form.instance
        for rule in formset.save(commit=False):
            if rule.pk is None:
                services.rule_add(
                    program=program, kind=rule.kind, params=rule.params, name=rule.name, position=rule.position, by=request.user
                )
            else:
                services.rule_update(rule=rule, kind=rule.kind, params=rule.params, name=rule.name, position=rule.position, by=request.user)
        for rule in formset.deleted_objects:
            services.rule_delete(rule=rule, by=request.user)

    def _each(self, request, queryset, service, done):
        for program in queryset.order_by("pk"):
            try:
                service(program=program, by=request.user)
            except ValidationError as error:
                self.message_user(request, f"{program}: {' '.join(error.messages)}", messages.ERROR)
            else:
                self.message_user(request, done % {"name": program.name})

    @admin.action(description=_("Activate the selected draft programs"), permissions=["change"])
    def activate(self, request, queryset):
        self._each(request, queryset, services.program_activate, gettext("Program “%(name)s” is active."))

    @admin.action(description=_("Close the selected active programs"), permissions=["change"])
    def close(self, request, queryset):
        self._each(request, queryset, services.program_close, gettext("Program “%(name)s” is closed."))


@admin.register(Rule)
class RuleAdmin(ServiceAdmin):
    """Rules through `incentives.services` (audited); the rules of active and closed programs are read-only."""

    list_display = ["__str__", "program", "kind", "position", "explanation"]
    list_filter = ["kind", "program__status"]
    list_select_related = ["program"]
    search_fields = ["name", "program__name"]

    def has_change_permission(self, request, obj=None):
        return (obj is None or _is_draft(obj.program)) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return (obj is None or _is_draft(obj.program)) and super().has_delete_permission(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "program":
            kwargs["queryset"] = Program.objects.filter(status=ProgramStatus.DRAFT)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def service_save(self, request, obj, form, change):
        values = {name: form.cleaned_data[name] for name in ("kind", "params", "name", "position")}
        if not change:
            return services.rule_add(program=form.cleaned_data["program"], by=request.user, **values)
        return services.rule_update(rule=obj, by=request.user, **values)

    def service_delete(self, request, obj):
        services.rule_delete(rule=obj, by=request.user)


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
class RewardAdmin(ServiceAdmin):
    """Rewards through `incentives.services` (audited); a reward that was redeemed cannot be deleted."""

    list_display = ["name", "kind", "points_cost", "stock", "approval_threshold", "is_active"]
    list_filter = ["kind", "is_active", "tiers"]
    search_fields = ["name", "description"]
    filter_horizontal = ["tiers"]

    def service_save(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in services.REWARD_FIELDS if name in form.cleaned_data}
        if not change:
            return services.reward_create(by=request.user, tiers=form.cleaned_data.get("tiers", ()), **fields)
        return services.reward_update(reward=obj, by=request.user, tiers=form.cleaned_data.get("tiers"), **fields)

    def service_delete(self, request, obj):
        services.reward_delete(reward=obj, by=request.user)


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
class TierRuleAdmin(ServiceAdmin):
    """Tier rules through `incentives.services` (audited); a rule stays with its tier."""

    list_display = ["tier", "min_revenue", "min_certified_contacts", "min_approved_deals", "min_loyalty_score", "downgrade_grace_months"]
    list_select_related = ["tier"]
    list_filter = ["downgrade_grace_months"]
    search_fields = ["tier__name"]

    def get_readonly_fields(self, request, obj=None):
        return ["tier"] if obj is not None else []

    def service_save(self, request, obj, form, change):
        tier = obj.tier if change else form.cleaned_data["tier"]
        return services.tier_rule_save(tier=tier, by=request.user, **{name: form.cleaned_data[name] for name in services.TIER_RULE_FIELDS})

    def service_delete(self, request, obj):
        services.tier_rule_delete(rule=obj, by=request.user)


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
