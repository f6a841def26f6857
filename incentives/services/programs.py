"""Programs and their rules: create, update, activate, close, the period rows, and the what-if run."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import engine, selectors
from ..models import (
    Program,
    ProgramPeriod,
    ProgramStatus,
    Rule,
)
from ..rules import validate_rule
from .audit import PROGRAM_STATE, audit, state_of

PROGRAM_FIELDS = (
    "name",
    "description",
    "period",
    "starts_on",
    "ends_on",
    "partner_types",
    "budget",
    "earning_basis",
    "points_expiry_months",
)

RULE_STATE = ("program_id", "kind", "name", "position", "params")


def _check_fields(fields):
    unknown = set(fields) - set(PROGRAM_FIELDS)
    if unknown:
        raise TypeError(f"Unknown program fields: {sorted(unknown)}")


@transaction.atomic
def program_create(*, by=None, tiers=(), territories=(), partners=(), **fields) -> Program:
    _check_fields(fields)
    program = Program(**fields)
    program.full_clean()
    program.save()
    program.tiers.set(tiers)
    program.territories.set(territories)
    program.partners.set(partners)
    audit(actor=by, action="program_create", obj=program, after=state_of(program, PROGRAM_STATE))
    return program


@transaction.atomic
def program_update(*, program, by=None, tiers=None, territories=None, partners=None, **fields) -> Program:
    """Update a program; once active only its texts, budget and end date may change (criteria are published)."""
    _check_fields(fields)
    program = Program.objects.select_for_update().get(pk=program.pk)
    before = state_of(program, PROGRAM_STATE)
    if program.status != ProgramStatus.DRAFT:
        frozen = set(fields) - {"name", "description", "budget", "ends_on"}
        if frozen or tiers is not None or territories is not None or partners is not None:
            raise ValidationError(_("Only the name, description, budget and end date of a running program can change."))
        if "ends_on" in fields and program.periods.filter(closed_at__isnull=False, ends_on__gt=fields["ends_on"]).exists():
            raise ValidationError({"ends_on": _("The program cannot end before a period that is already closed.")})
    for name, value in fields.items():
        setattr(program, name, value)
    program.full_clean()
    program.save()
    for relation, values in (("tiers", tiers), ("territories", territories), ("partners", partners)):
        if values is not None:
            getattr(program, relation).set(values)
    audit(actor=by, action="program_update", obj=program, before=before, after=state_of(program, PROGRAM_STATE))
    return program


def _require_draft(program):
    if program.status != ProgramStatus.DRAFT:
        raise ValidationError(_("The rules of an active or closed program cannot change: partners rely on the published criteria."))


@transaction.atomic
def rule_add(*, program, kind, params, name="", position=None, by=None) -> Rule:
    _require_draft(program)
    cleaned = validate_rule(kind, params)
    if position is None:
        position = (program.rules.aggregate(top=Max("position"))["top"] or 0) + 1
    rule = Rule.objects.create(program=program, kind=kind, params=cleaned, name=name, position=position)
    audit(actor=by, action="rule_add", obj=rule, after=state_of(rule, RULE_STATE))
    return rule


@transaction.atomic
def rule_update(*, rule, kind=None, params=None, name=None, position=None, by=None) -> Rule:
    _require_draft(rule.program)
    before = state_of(Rule.objects.get(pk=rule.pk), RULE_STATE)
    if kind is not None:
        rule.kind = kind
    if params is not None or kind is not None:
        rule.params = validate_rule(rule.kind, rule.params if params is None else params)
    if name is not None:
        rule.name = name
    if position is not None:
        rule.position = position
    rule.save()
    audit(actor=by, action="rule_update", obj=rule, before=before, after=state_of(rule, RULE_STATE))
    return rule


@transaction.atomic
def rule_delete(*, rule, by=None) -> None:
    _require_draft(rule.program)
    audit(actor=by, action="rule_delete", obj=rule, before=state_of(rule, RULE_STATE))
    rule.delete()


@transaction.atomic
def program_delete(*, program, by=None) -> None:
    """Delete a draft program (with its rules); a program partners have seen is closed instead."""
    program = Program.objects.select_for_update().get(pk=program.pk)
    if program.status != ProgramStatus.DRAFT:
        raise ValidationError(_("Only a draft program can be deleted; close a running program instead."))
    audit(actor=by, action="program_delete", obj=program, before=state_of(program, PROGRAM_STATE))
    program.delete()


@transaction.atomic
def program_activate(*, program, by=None, today=None) -> Program:
    program = Program.objects.select_for_update().get(pk=program.pk)
    if program.status != ProgramStatus.DRAFT:
        raise ValidationError(_("Only a draft program can be activated."))
    if not program.rules.exists():
        raise ValidationError(_("Add at least one rule before activating the program."))
    for rule in program.rules.all():
        validate_rule(rule.kind, rule.params)
    before = state_of(program, PROGRAM_STATE)
    program.status = ProgramStatus.ACTIVE
    program.save(update_fields=["status", "updated_at"])
    periods_ensure(program=program, today=today)
    audit(actor=by, action="program_activate", obj=program, before=before, after=state_of(program, PROGRAM_STATE))
    return program


@transaction.atomic
def program_close(*, program, by=None) -> Program:
    program = Program.objects.select_for_update().get(pk=program.pk)
    if program.status != ProgramStatus.ACTIVE:
        raise ValidationError(_("Only an active program can be closed."))
    before = state_of(program, PROGRAM_STATE)
    program.status = ProgramStatus.CLOSED
    program.save(update_fields=["status", "updated_at"])
    audit(actor=by, action="program_close", obj=program, before=before, after=state_of(program, PROGRAM_STATE))
    return program


def periods_ensure(*, program, today=None) -> list:
    """Create the period rows of every period that has started (idempotent)."""
    today = today or timezone.localdate()
    ranges = engine.period_ranges(program, today)
    ProgramPeriod.objects.bulk_create(
        [ProgramPeriod(program=program, starts_on=start, ends_on=end) for start, end in ranges], ignore_conflicts=True
    )
    return list(program.periods.order_by("starts_on"))


# --- Evaluation ------------------------------------------------------------------------------


def program_simulate(*, program, starts_on, ends_on, rules=None) -> dict:
    """Run a program's rules (or `rules`: unsaved Rule objects) against real past sales; writes nothing.

    Returns cost (cash + MDF), points, payouts per partner and ROI figures (see selectors.program_roi).
    """
    if ends_on < starts_on:
        raise ValidationError({"ends_on": _("The end date cannot be before the start date.")})
    if ends_on >= timezone.localdate():
        raise ValidationError({"ends_on": _("Simulate a period that has ended: its sales are final.")})
    rules = list(program.rules.all()) if rules is None else list(rules)
    for rule in rules:
        rule.params = validate_rule(rule.kind, rule.params)
    eligible = engine.eligible_partner_ids(program)
    contexts = engine.load_contexts(program=program, rules=rules, starts_on=starts_on, ends_on=ends_on, partner_ids=eligible)
    lines = engine.compute_lines(rules, contexts)
    totals = engine.totals_by_partner(lines)
    return selectors.roi_figures(program=program, starts_on=starts_on, ends_on=ends_on, eligible=eligible, totals=totals) | {
        "simulated": True
    }
