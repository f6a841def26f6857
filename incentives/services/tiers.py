"""Tiers: the qualification run (upgrades at once, downgrades after the grace period)."""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from core.dates import shift_months
from core.tasks import enqueue_after_commit
from partners.models import Partner, PartnerStatus

from .. import providers, selectors
from ..models import (
    IncentiveSettings,
    TierChange,
    TierRule,
    TierStanding,
)
from .audit import audit, state_of

BULK_BATCH = 1000
STANDING_FIELDS = ["qualified_tier", "below_since", "evaluated_on", "metrics"]


def _qualifies(rule, metrics, score):
    if metrics["revenue_12m"] < rule.min_revenue:
        return False
    if metrics["certified_contacts"] < rule.min_certified_contacts or metrics["approved_deals"] < rule.min_approved_deals:
        return False
    return rule.min_loyalty_score is None or score is None or Decimal(str(score)) >= rule.min_loyalty_score


@transaction.atomic
def tiers_evaluate(*, partner=None, loyalty_scores=None, today=None) -> list:
    """Re-evaluate the tier of one partner or of every non-churned partner, in a fixed number of queries.

    `loyalty_scores` maps partner id to score; when it is None the loyalty criterion is not checked
    (the caller could not compute it), when a partner is missing from it the partner scores 0.
    A partner qualifies for the highest tier whose rule it meets in full; if it meets none, for the
    lowest tier that has a rule. Returns the tier changes made.

    The figures of every partner are read at once, the decisions made in Python, and the writes
    done in bulk (tiers, standings, history), so the nightly run costs the same number of queries
    for 3 partners or 3,000 (plus one per BULK_BATCH rows written). Like `partner_update` for a
    tier, the partner gets no timeline entry: the TierChange row is the history.
    """
    from .. import tasks

    today = today or timezone.localdate()
    rules = list(TierRule.objects.select_related("tier").order_by("-tier__rank"))
    if not rules:
        return []
    settings_row = IncentiveSettings.load()
    partners = Partner.objects.exclude(status__in=[PartnerStatus.APPLICANT, PartnerStatus.CHURNED]).select_related("tier")
    if partner is not None:
        partners = partners.filter(pk=partner.pk)
    partners = list(partners)
    metrics = selectors.tier_metrics(partner_ids=[p.pk for p in partners], today=today)
    standings = {s.partner_id: s for s in TierStanding.objects.filter(partner_id__in=[p.pk for p in partners])}
    rule_by_tier = {rule.tier_id: rule for rule in rules}
    changes, moved, new_standings = [], [], []
    for current in partners:
        figures = metrics[current.pk]
        score = None if loyalty_scores is None else loyalty_scores.get(current.pk, 0)
        target = next((rule.tier for rule in rules if _qualifies(rule, figures, score)), rules[-1].tier)
        standing = standings.get(current.pk)
        if standing is None:
            standing = TierStanding(partner=current, evaluated_on=today)
            new_standings.append(standing)
        standing.qualified_tier, standing.evaluated_on = target, today
        standing.metrics = {key: str(value) for key, value in figures.items()} | {"loyalty_score": None if score is None else str(score)}
        grace = _grace_months(current, rule_by_tier, settings_row)
        reason = _tier_decision(current=current, target=target, standing=standing, grace=grace, today=today)
        if reason is not None:
            changes.append(TierChange(partner=current, from_tier=current.tier, to_tier=target, reason=reason))
            moved.append(current)
    _tiers_write(moved=moved, changes=changes, standings=standings.values(), new_standings=new_standings)
    for change in changes:
        enqueue_after_commit(tasks.notify_tier_change, tier_change_id=change.pk)
    return changes


def _grace_months(current, rule_by_tier, settings_row):
    """The downgrade grace period of the partner's current tier: its rule's, else the general setting."""
    current_rule = rule_by_tier.get(current.tier_id)
    if current_rule is not None and current_rule.downgrade_grace_months is not None:
        return current_rule.downgrade_grace_months
    return settings_row.downgrade_grace_months


def _tier_decision(*, current, target, standing, grace, today):
    """The reason for moving `current` to `target` now, or None; keeps `standing.below_since` up to date.

    Upgrades happen at once; a downgrade only once the partner has been below its tier for `grace`
    months, counted from the first evaluation that found it below.
    """
    current_rank = current.tier.rank if current.tier else 0
    if target.rank > current_rank:
        standing.below_since = None
        return _("Qualifies for %(tier)s.") % {"tier": target.name}
    if target.rank == current_rank:
        standing.below_since = None
        return None
    standing.below_since = standing.below_since or today
    if shift_months(standing.below_since, grace) > today:
        return None
    reason = _("Below the requirements of %(tier)s since %(date)s; the grace period of %(months)s months is over.") % {
        "tier": current.tier.name,
        "date": date_format(standing.below_since),
        "months": grace,
    }
    standing.below_since = None
    return reason


def _tiers_write(*, moved, changes, standings, new_standings):
    """Write the evaluation in bulk: the moved partners' tiers (rows locked first), standings, history."""
    if moved:
        # Lock the rows that change, in primary-key order so two runs cannot deadlock; only the tier
        # (and updated_at) is written, so a concurrent edit of another field is not overwritten.
        list(Partner.objects.select_for_update().filter(pk__in=[p.pk for p in moved]).order_by("pk").values_list("pk", flat=True))
        now = timezone.now()
        for current, change in zip(moved, changes, strict=True):
            current.tier, current.updated_at = change.to_tier, now
        Partner.objects.bulk_update(sorted(moved, key=lambda p: p.pk), ["tier", "updated_at"], batch_size=BULK_BATCH)
    existing = sorted((s for s in standings if s.pk), key=lambda s: s.partner_id)
    if existing:
        TierStanding.objects.bulk_update(existing, STANDING_FIELDS, batch_size=BULK_BATCH)
    if new_standings:
        # A concurrent run may have created the row since it was read: then this one's figures win.
        TierStanding.objects.bulk_create(
            new_standings, batch_size=BULK_BATCH, update_conflicts=True, unique_fields=["partner"], update_fields=STANDING_FIELDS
        )
    if changes:
        TierChange.objects.bulk_create(changes, batch_size=BULK_BATCH)


def tiers_reevaluate(*, today=None) -> list:
    """The manual re-evaluation: `tiers_evaluate` with the loyalty scores the nightly run uses."""
    today = today or timezone.localdate()
    return tiers_evaluate(loyalty_scores=providers.loyalty_scores(on_date=today), today=today)


# --- Tier rules ------------------------------------------------------------------------------

TIER_RULE_FIELDS = ("min_revenue", "min_certified_contacts", "min_approved_deals", "min_loyalty_score", "downgrade_grace_months")
TIER_RULE_STATE = ("tier_id", *TIER_RULE_FIELDS)


@transaction.atomic
def tier_rule_save(*, tier, by=None, **fields) -> TierRule:
    """Create or change the qualification rule of `tier`; takes effect at the next evaluation."""
    unknown = set(fields) - set(TIER_RULE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown tier rule fields: {sorted(unknown)}")
    rule = TierRule.objects.select_for_update().filter(tier=tier).first()
    before = None if rule is None else state_of(rule, TIER_RULE_STATE)
    rule = rule or TierRule(tier=tier)
    for name, value in fields.items():
        setattr(rule, name, value)
    rule.full_clean()
    rule.save()
    rule.refresh_from_db()
    action = "tier_rule_create" if before is None else "tier_rule_update"
    audit(actor=by, action=action, obj=rule, before=before, after=state_of(rule, TIER_RULE_STATE))
    return rule


@transaction.atomic
def tier_rule_delete(*, rule, by=None) -> None:
    """Remove a tier's rule: partners of that tier are no longer measured against it."""
    audit(actor=by, action="tier_rule_delete", obj=rule, before=state_of(rule, TIER_RULE_STATE))
    rule.delete()
