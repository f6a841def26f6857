"""The loyalty-score arithmetic: raw component values -> normalised 0-100 -> weighted score; nothing writes.

`compute_scores` reads every figure of a set of partners in a fixed number of set-based queries
(see `definitions`), so the nightly run costs the same number of queries for 3 or 30,000 partners.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from django.db.models import Q
from django.utils import translation

from . import definitions as kpi
from .definitions import (
    CASES,
    COMPONENTS,
    CONSISTENCY,
    ENGAGEMENT,
    EXPANSION,
    GROWTH,
    NEGATIVE_COMPONENTS,
    SALES,
    SATISFACTION,
)


@lru_cache(maxsize=1024)
def _translated(language, singular, plural=None, number=None):
    if plural is None:
        return translation.gettext(singular)
    return translation.ngettext(singular, plural, number)


def gettext(message):
    """`django.utils.translation.gettext` remembered per language: a night words thousands of alerts with
    a dozen phrases, and each uncached call walks the catalogs (0.5 s for 2,470 alerts, bench/kpis.py)."""
    return _translated(translation.get_language(), message)


def ngettext(singular, plural, number):
    """`django.utils.translation.ngettext` remembered per language and number, as `gettext` above."""
    return _translated(translation.get_language(), singular, plural, number)


@lru_cache(maxsize=256)
def _label(language, name):
    return str(COMPONENTS[name])  # the lazy label, translated into `language`, the active one


def component_label(name):
    """The component's label in the active language, remembered like `gettext`."""
    return _label(translation.get_language(), name)


HUNDRED = Decimal("100")
CENT = Decimal("0.01")
TEN_THOUSANDTH = Decimal("0.0001")
ZERO = Decimal("0")
ONE = Decimal("1")


def normalise(raw, floor, target, *, negative=False):
    """Min-max against the model's bounds, clipped to 0..100: floor scores 0, target 100 (reversed for case load)."""
    share = (Decimal(raw) - floor) / (target - floor)
    share = min(max(share, Decimal("0")), Decimal("1"))
    if negative:
        share = 1 - share
    return (share * HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class PartnerScore:
    partner_id: int
    score: Decimal
    band: str
    components: dict


def raw_components(*, on_date, condition=kpi.EVERY, partner_ids=None):
    """({partner_id: {component: raw value or None}}, partner rows) for partners in the channel; 8 queries.

    None means absent: no data for that component (see docs/kpis.md for each rule).
    """
    partners = kpi.partners_in_channel(on_date=on_date, condition=condition)
    period = kpi.Period.trailing(on_date)
    history = kpi.ordering_history(period=period, condition=condition)
    expansion = kpi.market_expansion(period=period, condition=condition)
    activity_start = on_date - timedelta(days=kpi.ACTIVITY_DAYS - 1)
    engaged = kpi.engagement(start=activity_start, end=on_date, condition=condition)
    cases = kpi.case_load(start=activity_start, end=on_date, condition=condition)
    ids = None if partner_ids is None and not condition else [row["id"] for row in partners]
    satisfied = kpi.satisfaction(on_date=on_date, partner_ids=ids)
    raws = {}
    for row in partners:
        pid = row["id"]
        sales = history.get(pid)
        values = dict.fromkeys(COMPONENTS)
        if sales is not None:
            values[SALES] = sales["revenue"]
            if sales["previous_revenue"] > 0:
                values[GROWTH] = (sales["revenue"] - sales["previous_revenue"]) / sales["previous_revenue"]
            started = max(period.start, sales["first_month"], row["joined_on"].replace(day=1) if row["joined_on"] else period.start)
            eligible = kpi.Period(started, period.end).length if started < period.end else 0
            if eligible:
                values[CONSISTENCY] = Decimal(sales["active_months"]) / Decimal(eligible)
            found = expansion.get(pid, {})
            values[EXPANSION] = sum(found.values()) if found else 0
        values[ENGAGEMENT] = engaged.get(pid, {}).get("points", 0)
        if pid in satisfied:
            values[SATISFACTION] = satisfied[pid]["value"]
        values[CASES] = cases.get(pid, {}).get("load", 0)
        raws[pid] = values
    return raws, partners


def score_recipe(model):
    """(name, weight, weight as stored, its Decimal, floor, target - floor, negative) per component.

    Read once per run: the model's JSON lookups and Decimal conversions cost more than the
    arithmetic when repeated for every partner and component.
    """
    recipe = []
    for name in COMPONENTS:
        weight = model.weight(name)
        floor, target = model.bounds(name)
        stored = float(weight)
        recipe.append((name, weight, stored, Decimal(str(stored)), floor, target - floor, name in NEGATIVE_COMPONENTS))
    return tuple(recipe)


def score_of(values, model, *, recipe=None):
    """(score, components) from raw values under `model`; score None when every weighted component is absent.

    Absent components are recorded with "absent": true and left out; the weights of the present
    ones are renormalised to sum to 1 ("share"). Decimal throughout, as `normalise`: the stored
    figures are rounded half-up, which binary floats would get wrong on exact halves.
    """
    components = {}
    present = []
    total_weight = ZERO
    for name, weight, stored_weight, share_weight, floor, span, negative in recipe or score_recipe(model):
        raw = values.get(name)
        if raw is None:
            components[name] = {"raw": None, "normalised": None, "weight": stored_weight, "share": None, "absent": True}
            continue
        raw = Decimal(raw)
        share = min(max((raw - floor) / span, ZERO), ONE)
        normalised = ((ONE - share if negative else share) * HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)
        entry = {
            "raw": float(raw.quantize(TEN_THOUSANDTH, rounding=ROUND_HALF_UP)),
            "normalised": float(normalised),
            "weight": stored_weight,
            "share": None,
            "absent": False,
        }
        components[name] = entry
        present.append((entry, share_weight, normalised))
        total_weight += weight
    if not total_weight:
        return None, components
    score = ZERO
    for entry, weight, normalised in present:
        share = weight / total_weight
        entry["share"] = float(share.quantize(TEN_THOUSANDTH, rounding=ROUND_HALF_UP))
        score += share * normalised
    return score.quantize(CENT, rounding=ROUND_HALF_UP), components


def compute_scores(*, on_date, model, condition=kpi.EVERY, partner_ids=None):
    """{partner_id: PartnerScore} for the partners in the channel on `on_date` that match; 8 queries."""
    if partner_ids is not None:
        condition = condition & Q(partner_id__in=list(partner_ids))
    raws, partners = raw_components(on_date=on_date, condition=condition, partner_ids=partner_ids)
    recipe = score_recipe(model)
    result = {}
    for pid, values in raws.items():
        score, components = score_of(values, model, recipe=recipe)
        if score is not None:
            result[pid] = PartnerScore(partner_id=pid, score=score, band=model.band_for(score), components=components)
    return result


def moved_components(current, reference, limit=3):
    """The components whose normalised value moved most between two snapshots' components, biggest first."""
    moves = []
    for name in COMPONENTS:
        now, then = current.get(name) or {}, reference.get(name) or {}
        if now.get("absent", True) or then.get("absent", True):
            if now.get("absent", True) != then.get("absent", True):
                moves.append({"name": name, "delta": None, "from": then.get("normalised"), "to": now.get("normalised")})
            continue
        delta = round(now["normalised"] - then["normalised"], 2)
        if delta:
            moves.append({"name": name, "delta": delta, "from": then["normalised"], "to": now["normalised"]})
    moves.sort(key=lambda move: (move["delta"] is not None, abs(move["delta"] or 0)), reverse=True)
    return moves[:limit]


def explain_change(*, score, previous_score, moves):
    """ "Score fell 8 points: engagement down 12, growth down 5", in the active language."""
    points = round(abs(Decimal(score) - Decimal(previous_score)))
    if Decimal(score) < Decimal(previous_score) and points:
        headline = ngettext("Score fell %(points)s point", "Score fell %(points)s points", points) % {"points": points}
    elif Decimal(score) > Decimal(previous_score) and points:
        headline = ngettext("Score rose %(points)s point", "Score rose %(points)s points", points) % {"points": points}
    else:
        headline = gettext("Score unchanged")
    # A component that moved by less than half a point would read "growth up 0": leave it out.
    reasons = [describe_move(move) for move in moves if move["delta"] is None or round(abs(move["delta"]))]
    if not reasons:
        return headline
    return gettext("%(headline)s: %(reasons)s") % {"headline": headline, "reasons": ", ".join(reasons)}


def describe_move(move):
    label = component_label(move["name"])
    if move["delta"] is None:
        if move["to"] is None:
            return gettext("%(component)s no longer measured") % {"component": label}
        return gettext("%(component)s now measured") % {"component": label}
    points = round(abs(move["delta"]))
    if move["delta"] < 0:
        return gettext("%(component)s down %(points)s") % {"component": label, "points": points}
    return gettext("%(component)s up %(points)s") % {"component": label, "points": points}
