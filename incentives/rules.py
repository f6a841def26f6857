"""The rule kinds of incentive programs: parameters, arithmetic and a plain-language explanation.

One class per kind, each with:

- `validate(params) -> params`: the cleaned parameters (numbers kept as strings so JSON is exact),
  or a ValidationError keyed by parameter ({"percent": [...]}; the brackets' problems under
  "brackets", naming the bracket; problems of the whole set under NON_FIELD_ERRORS);
- `explain(params) -> str`: a translatable sentence built from the parameters, shown to partners;
- `compute(params, context) -> list[Line]`: what a partner earns in a period, each line with the
  reason (text and data);
- `progress(params, context) -> list[dict]`: what is missing to the next bracket or threshold,
  for the accrual preview.

Arithmetic conventions (the same for every kind):

- Revenue is the sum of the period's invoice lines on the program's basis; credit notes are
  negative lines and reduce it. Zero or negative revenue earns nothing.
- Partners that join mid-period earn on the sales they made in the period; thresholds and
  brackets are not prorated.
- Brackets are half-open from below: "2% up to 100,000, 4% above" pays 2% on revenue of exactly
  100,000. In *marginal* mode each rate applies to its own slice of revenue; in *whole* mode the
  rate of the bracket the revenue reaches applies to all of it.
- The growth bonus pays either a fixed amount or a percent of the period's revenue (`bonus_type`
  "fixed" or "percent"); growth is measured against the same period one year earlier, and a
  partner without revenue in that period has no baseline and earns no growth bonus.
- Money is rounded half-up to cents; points are rounded down to whole points.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import PeriodKind, RewardType, RuleKind

CENT = Decimal("0.01")
ZERO = Decimal("0")
HUNDRED = Decimal("100")


@dataclass
class Line:
    """One earning a rule produces for a partner in a period (not yet written)."""

    reward_type: str
    reason: str
    amount: Decimal = ZERO
    points: int = 0
    detail: dict = field(default_factory=dict)


@dataclass
class Context:
    """The figures of one partner in one period that rules compute from (loaded set-based by services)."""

    partner_id: int
    starts_on: object
    ends_on: object
    period_kind: str = PeriodKind.QUARTERLY
    revenue: Decimal = ZERO
    sale_count: int = 0
    previous_revenue: Decimal | None = None
    units_by_sku: dict = field(default_factory=dict)
    units_by_category: dict = field(default_factory=dict)
    new_customers: list = field(default_factory=list)
    certifications: list = field(default_factory=list)


def fmt(value):
    """A number for a sentence: grouped thousands, decimals only when there are any."""
    value = Decimal(value)
    if value == value.to_integral_value():
        return number_format(value.quantize(Decimal(1)), decimal_pos=0, force_grouping=True)
    decimals = -value.normalize().as_tuple().exponent
    return number_format(value, decimal_pos=decimals, force_grouping=True)


def money(value):
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def period_word(kind):
    return {PeriodKind.MONTHLY: _("this month"), PeriodKind.YEARLY: _("this year")}.get(kind, _("this quarter"))


class _Params:
    """Reads and checks parameters, collecting every problem, keyed by its parameter, before raising.

    The error is a dict {parameter: [messages]} so a form shows each message next to its field;
    problems of the whole set (unknown names, not an object) go under NON_FIELD_ERRORS.
    """

    def __init__(self, params):
        if not isinstance(params, dict):
            raise ValidationError({NON_FIELD_ERRORS: [_("The parameters must be an object of names and values.")]})
        self.params = params
        self.errors = {}
        self.cleaned = {}

    def add(self, key, message):
        self.errors.setdefault(key, []).append(message)

    def decimal(self, key, *, label, required=True, minimum=ZERO, positive=False, default=None):
        raw = self.params.get(key)
        if raw is None or raw == "":
            if required:
                self.add(key, _("%(label)s is required (parameter “%(key)s”).") % {"label": label, "key": key})
            elif default is not None:
                self.cleaned[key] = str(default)
            return default
        value = to_decimal(raw)
        if value is None:
            self.add(key, _("%(label)s must be a number.") % {"label": label})
            return None
        if minimum is not None and value < minimum:
            self.add(key, _("%(label)s cannot be negative.") % {"label": label})
            return None
        if positive and value <= 0:
            self.add(key, _("%(label)s must be more than 0.") % {"label": label})
            return None
        self.cleaned[key] = str(value)
        return value

    def text(self, key, *, label, required=True):
        raw = self.params.get(key)
        value = raw.strip() if isinstance(raw, str) else ""
        if not value:
            if required:
                self.add(key, _("%(label)s is required (parameter “%(key)s”).") % {"label": label, "key": key})
            return None
        self.cleaned[key] = value
        return value

    def choice(self, key, *, label, choices, default=None):
        raw = self.params.get(key, default)
        if raw not in choices:
            self.add(key, _("%(label)s must be one of: %(choices)s.") % {"label": label, "choices": ", ".join(sorted(choices))})
            return None
        self.cleaned[key] = raw
        return raw

    def done(self):
        unknown = sorted(set(self.params) - set(self.cleaned))
        if unknown and not self.errors:
            self.add(NON_FIELD_ERRORS, _("Unknown parameters: %(names)s.") % {"names": ", ".join(unknown)})
        if self.errors:
            raise ValidationError(self.errors)
        return self.cleaned


def to_decimal(raw):
    if isinstance(raw, bool):
        return None
    try:
        value = Decimal(str(raw))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return value if value.is_finite() else None


class RuleType(ABC):
    """One rule kind: checks its parameters, says them in words, and turns a period's figures into lines."""

    kind = None
    reward_type = RewardType.CASH

    @abstractmethod
    def validate(self, params):
        """The cleaned parameters, or ValidationError keyed by parameter."""

    @abstractmethod
    def explain(self, params):
        """The rule in one translatable sentence, for managers and partners."""

    @abstractmethod
    def compute(self, params, context):
        """The earning lines for one partner and period (`context`)."""

    def progress(self, params, context):
        return []


class RevenueRebate(RuleType):
    """Brackets of revenue, each with a rate; marginal (each rate on its slice) or whole-amount."""

    kind = RuleKind.REVENUE_REBATE
    MODES = ("marginal", "whole")

    def validate(self, params):
        p = _Params(params)
        p.choice("mode", label=_("The mode"), choices=self.MODES, default="marginal")
        brackets = params.get("brackets") if isinstance(params, dict) else None
        if not isinstance(brackets, list) or not brackets:
            p.add("brackets", _("Add at least one bracket (parameter “brackets”)."))
            p.cleaned["brackets"] = []
            return p.done()
        cleaned = []
        for number, bracket in enumerate(brackets, start=1):
            if not isinstance(bracket, dict):
                p.add("brackets", _("Bracket %(n)s must have “from”, “to” and “rate”.") % {"n": number})
                continue
            b = _Params(bracket)
            start = b.decimal("from", label=_("The start of bracket %(n)s") % {"n": number})
            end = b.decimal("to", label=_("The end of bracket %(n)s") % {"n": number}, required=False)
            b.decimal("rate", label=_("The rate of bracket %(n)s") % {"n": number})
            for messages in b.errors.values():
                for message in messages:
                    p.add("brackets", message)
            if b.errors:
                continue
            if end is not None and start is not None and end <= start:
                p.add(
                    "brackets",
                    _("Bracket %(n)s ends (%(end)s) before it starts (%(start)s).") % {"n": number, "end": fmt(end), "start": fmt(start)},
                )
                continue
            b.cleaned.setdefault("to", None)
            cleaned.append((number, start, end, b.cleaned))
        if p.errors:
            return p.done()
        first_number, first_start, _end, _b = cleaned[0]
        if first_start != 0:
            p.add("brackets", _("The first bracket must start at 0."))
        for (prev_n, prev_start, prev_end, _pb), (n, start, _next_end, _b) in zip(cleaned, cleaned[1:], strict=False):
            if prev_end is None:
                p.add("brackets", _("Only the last bracket can be open-ended; bracket %(n)s has no end.") % {"n": prev_n})
            elif start < prev_start:
                p.add(
                    "brackets",
                    _("Brackets must be in ascending order: bracket %(n)s starts at %(start)s, before bracket %(prev)s (%(prev_start)s).")
                    % {"n": n, "start": fmt(start), "prev": prev_n, "prev_start": fmt(prev_start)},
                )
            elif start < prev_end:
                p.add(
                    "brackets",
                    _("Brackets %(prev)s and %(n)s overlap: bracket %(n)s starts at %(start)s, before bracket %(prev)s ends at %(end)s.")
                    % {"n": n, "prev": prev_n, "start": fmt(start), "end": fmt(prev_end)},
                )
            elif start > prev_end:
                p.add(
                    "brackets",
                    _(
                        "There is a gap between brackets %(prev)s and %(n)s: "
                        "bracket %(prev)s ends at %(end)s, bracket %(n)s starts at %(start)s."
                    )
                    % {"n": n, "prev": prev_n, "start": fmt(start), "end": fmt(prev_end)},
                )
        if cleaned[-1][2] is not None:
            p.add("brackets", _("The last bracket must be open-ended (no “to”), so every revenue earns a rate."))
        p.cleaned["brackets"] = [b for *_rest, b in cleaned]
        return p.done()

    @staticmethod
    def _brackets(params):
        return [
            (Decimal(b["from"]), None if b.get("to") in (None, "") else Decimal(b["to"]), Decimal(b["rate"])) for b in params["brackets"]
        ]

    def explain(self, params):
        brackets = self._brackets(params)
        parts = []
        for start, end, rate in brackets:
            if len(brackets) == 1:
                parts.append(_("%(rate)s%% on all revenue") % {"rate": fmt(rate)})
            elif start == 0:
                parts.append(_("%(rate)s%% on revenue up to %(end)s") % {"rate": fmt(rate), "end": fmt(end)})
            elif end is None:
                parts.append(_("%(rate)s%% on revenue above %(start)s") % {"rate": fmt(rate), "start": fmt(start)})
            else:
                parts.append(
                    _("%(rate)s%% on revenue from %(start)s to %(end)s") % {"rate": fmt(rate), "start": fmt(start), "end": fmt(end)}
                )
        text = "; ".join(parts)
        if len(brackets) == 1:
            return text
        if params.get("mode", "marginal") == "whole":
            return _("%(brackets)s (the rate reached applies to the whole revenue)") % {"brackets": text}
        return _("%(brackets)s (each rate on its own slice)") % {"brackets": text}

    def _reached(self, brackets, revenue):
        """Index of the bracket `revenue` falls in: from < revenue <= to (the first one for 0)."""
        for index, (_start, end, _rate) in enumerate(brackets):
            if end is None or revenue <= end:
                return index
        return len(brackets) - 1

    def compute(self, params, context):
        revenue = context.revenue
        if revenue <= 0:
            return []
        brackets = self._brackets(params)
        if params.get("mode", "marginal") == "whole":
            index = self._reached(brackets, revenue)
            rate = brackets[index][2]
            amount = money(revenue * rate / HUNDRED)
            slices = [{"bracket": index + 1, "rate": str(rate), "base": str(revenue), "amount": str(amount)}]
            reason = _("%(rate)s%% on the whole revenue of %(revenue)s (bracket %(n)s reached)") % {
                "rate": fmt(rate),
                "revenue": fmt(revenue),
                "n": index + 1,
            }
        else:
            slices, amount, texts = [], ZERO, []
            for index, (start, end, rate) in enumerate(brackets):
                top = revenue if end is None else min(revenue, end)
                base = top - start
                if base <= 0:
                    break
                part = money(base * rate / HUNDRED)
                amount += part
                slices.append({"bracket": index + 1, "rate": str(rate), "base": str(base), "amount": str(part)})
                texts.append(_("%(rate)s%% on %(base)s") % {"rate": fmt(rate), "base": fmt(base)})
            reason = _("Revenue %(revenue)s: %(slices)s") % {"revenue": fmt(revenue), "slices": " + ".join(texts)}
        if amount == 0:
            return []
        detail = {"revenue": str(revenue), "mode": params.get("mode", "marginal"), "slices": slices, "sales": context.sale_count}
        return [Line(reward_type=self.reward_type, amount=amount, reason=reason, detail=detail)]

    def progress(self, params, context):
        brackets = self._brackets(params)
        revenue = max(context.revenue, ZERO)
        index = self._reached(brackets, revenue) if revenue > 0 else 0
        if index + 1 >= len(brackets):
            return []
        start, _end, rate = brackets[index + 1]
        missing = start - revenue
        if missing <= 0:
            return []
        return [
            {
                "kind": self.kind,
                "missing": missing,
                "target": start,
                "rate": rate,
                "message": _("%(missing)s more revenue %(period)s reaches the %(rate)s%% bracket")
                % {"missing": fmt(missing), "period": period_word(context.period_kind), "rate": fmt(rate)},
            }
        ]


class GrowthBonus(RuleType):
    """Growth over the same period last year of at least X% pays a fixed amount or a percent of revenue."""

    kind = RuleKind.GROWTH_BONUS

    def validate(self, params):
        p = _Params(params)
        p.decimal("min_growth_percent", label=_("The minimum growth"))
        bonus_type = p.choice("bonus_type", label=_("The bonus type"), choices=("fixed", "percent"), default="fixed")
        p.decimal("bonus", label=_("The bonus") if bonus_type != "percent" else _("The bonus percentage"), positive=True)
        return p.done()

    def explain(self, params):
        values = {"bonus": fmt(params["bonus"]), "growth": fmt(params["min_growth_percent"])}
        if params.get("bonus_type", "fixed") == "percent":
            return _("A bonus of %(bonus)s%% of revenue when revenue grows at least %(growth)s%% over the same period last year") % values
        return _("A bonus of %(bonus)s when revenue grows at least %(growth)s%% over the same period last year") % values

    def compute(self, params, context):
        previous = context.previous_revenue
        if context.revenue <= 0 or previous is None or previous <= 0:
            return []
        growth = (context.revenue - previous) / previous * HUNDRED
        minimum = Decimal(params["min_growth_percent"])
        if growth < minimum:
            return []
        bonus = Decimal(params["bonus"])
        amount = money(context.revenue * bonus / HUNDRED) if params.get("bonus_type", "fixed") == "percent" else money(bonus)
        growth_shown = growth.quantize(Decimal("0.1"), rounding=ROUND_DOWN)
        reason = _("Revenue grew %(growth)s%% (from %(previous)s to %(revenue)s), at least %(minimum)s%%") % {
            "growth": fmt(growth_shown),
            "previous": fmt(previous),
            "revenue": fmt(context.revenue),
            "minimum": fmt(minimum),
        }
        detail = {"previous_revenue": str(previous), "revenue": str(context.revenue), "growth_percent": str(growth_shown)}
        return [Line(reward_type=self.reward_type, amount=amount, reason=reason, detail=detail)]

    def progress(self, params, context):
        previous = context.previous_revenue
        if previous is None or previous <= 0:
            return []
        target = previous * (1 + Decimal(params["min_growth_percent"]) / HUNDRED)
        missing = money(target - context.revenue)
        if missing <= 0:
            return []
        return [
            {
                "kind": self.kind,
                "missing": missing,
                "target": money(target),
                "message": _("%(missing)s more revenue %(period)s reaches %(growth)s%% growth and the growth bonus")
                % {"missing": fmt(missing), "period": period_word(context.period_kind), "growth": fmt(params["min_growth_percent"])},
            }
        ]


class Spiff(RuleType):
    """A fixed amount per unit of one SKU or one product category sold (returns subtract units)."""

    kind = RuleKind.SPIFF

    def validate(self, params):
        p = _Params(params)
        sku = p.text("sku", label=_("The SKU"), required=False)
        category = p.text("category", label=_("The category"), required=False)
        if bool(sku) == bool(category):
            p.add("sku", _("Give either a SKU or a category (parameter “sku” or “category”), not both."))
        p.decimal("amount_per_unit", label=_("The amount per unit"), positive=True)
        return p.done()

    def _target(self, params):
        if params.get("sku"):
            return _("SKU %(sku)s") % {"sku": params["sku"]}
        return _("category %(category)s") % {"category": params["category"]}

    def explain(self, params):
        return _("%(amount)s per unit of %(target)s sold (returns deducted)") % {
            "amount": fmt(params["amount_per_unit"]),
            "target": self._target(params),
        }

    def compute(self, params, context):
        units = (
            context.units_by_sku.get(params["sku"], ZERO) if params.get("sku") else context.units_by_category.get(params["category"], ZERO)
        )
        if units <= 0:
            return []
        per_unit = Decimal(params["amount_per_unit"])
        amount = money(units * per_unit)
        reason = _("%(units)s units of %(target)s at %(amount)s each") % {
            "units": fmt(units),
            "target": self._target(params),
            "amount": fmt(per_unit),
        }
        return [Line(reward_type=self.reward_type, amount=amount, reason=reason, detail={"units": str(units)})]


class NewCustomerBonus(RuleType):
    """A fixed amount per customer whose first ever purchase through this partner falls in the period."""

    kind = RuleKind.NEW_CUSTOMER

    def validate(self, params):
        p = _Params(params)
        p.decimal("amount_per_customer", label=_("The amount per new customer"), positive=True)
        return p.done()

    def explain(self, params):
        return _("%(amount)s for each first sale to a customer who never bought from you before") % {
            "amount": fmt(params["amount_per_customer"])
        }

    def compute(self, params, context):
        customers = context.new_customers
        if not customers:
            return []
        per_customer = Decimal(params["amount_per_customer"])
        amount = money(per_customer * len(customers))
        reason = ngettext(
            "%(count)s new customer at %(amount)s: %(names)s",
            "%(count)s new customers at %(amount)s each: %(names)s",
            len(customers),
        ) % {"count": len(customers), "amount": fmt(per_customer), "names": ", ".join(c["name"] for c in customers)}
        return [Line(reward_type=self.reward_type, amount=amount, reason=reason, detail={"customers": customers})]


class CertificationBonus(RuleType):
    """A fixed amount per certification the partner's contacts earned in the period."""

    kind = RuleKind.CERTIFICATION

    def validate(self, params):
        p = _Params(params)
        p.decimal("amount_per_certification", label=_("The amount per certification"), positive=True)
        return p.done()

    def explain(self, params):
        return _("%(amount)s for each certification your people earn in the period") % {"amount": fmt(params["amount_per_certification"])}

    def compute(self, params, context):
        certifications = context.certifications
        if not certifications:
            return []
        per_cert = Decimal(params["amount_per_certification"])
        reason = ngettext(
            "%(count)s certification at %(amount)s: %(names)s",
            "%(count)s certifications at %(amount)s each: %(names)s",
            len(certifications),
        ) % {"count": len(certifications), "amount": fmt(per_cert), "names": ", ".join(c["name"] for c in certifications)}
        return [
            Line(
                reward_type=self.reward_type,
                amount=money(per_cert * len(certifications)),
                reason=reason,
                detail={"certifications": certifications},
            )
        ]


class PointsPerCurrency(RuleType):
    """Points for every currency unit of revenue; they go to the points ledger and the reward catalog."""

    kind = RuleKind.POINTS
    reward_type = RewardType.POINTS

    def validate(self, params):
        p = _Params(params)
        p.decimal("points_per_unit", label=_("The points per currency unit"), positive=True)
        return p.done()

    def explain(self, params):
        return _("%(points)s points for every currency unit of revenue") % {"points": fmt(params["points_per_unit"])}

    def compute(self, params, context):
        if context.revenue <= 0:
            return []
        rate = Decimal(params["points_per_unit"])
        points = int((context.revenue * rate).to_integral_value(rounding=ROUND_DOWN))
        if points <= 0:
            return []
        reason = _("%(points)s points for revenue of %(revenue)s") % {"points": fmt(points), "revenue": fmt(context.revenue)}
        return [Line(reward_type=self.reward_type, points=points, reason=reason, detail={"revenue": str(context.revenue)})]


class _Threshold(RuleType):
    """A non-cash reward that a partner qualifies for by reaching a revenue threshold in the period."""

    name_key = "reward"

    def validate(self, params):
        p = _Params(params)
        p.decimal("min_revenue", label=_("The revenue threshold"), positive=True)
        p.text(self.name_key, label=_("The name of the reward"))
        return p.done()

    def compute(self, params, context):
        minimum = Decimal(params["min_revenue"])
        if context.revenue < minimum:
            return []
        reason = _("Qualified for %(reward)s: revenue %(revenue)s reached %(minimum)s") % {
            "reward": params[self.name_key],
            "revenue": fmt(context.revenue),
            "minimum": fmt(minimum),
        }
        detail = {"revenue": str(context.revenue), "reward": params[self.name_key]}
        return [Line(reward_type=self.reward_type, reason=reason, detail=detail)]

    def progress(self, params, context):
        missing = Decimal(params["min_revenue"]) - max(context.revenue, ZERO)
        if missing <= 0:
            return []
        return [
            {
                "kind": self.kind,
                "missing": missing,
                "target": Decimal(params["min_revenue"]),
                "message": _("%(missing)s more revenue %(period)s qualifies you for %(reward)s")
                % {"missing": fmt(missing), "period": period_word(context.period_kind), "reward": params[self.name_key]},
            }
        ]


class TripQualification(_Threshold):
    kind = RuleKind.TRIP
    reward_type = RewardType.TRIP
    name_key = "trip"

    def explain(self, params):
        return _("Qualify for %(trip)s with revenue of %(minimum)s or more in the period") % {
            "trip": params["trip"],
            "minimum": fmt(params["min_revenue"]),
        }


class ExclusiveAccess(_Threshold):
    kind = RuleKind.EXCLUSIVE_ACCESS
    reward_type = RewardType.EXCLUSIVE_ACCESS
    name_key = "resource"

    def explain(self, params):
        return _("Access to %(resource)s with revenue of %(minimum)s or more in the period") % {
            "resource": params["resource"],
            "minimum": fmt(params["min_revenue"]),
        }


class MdfCredit(RuleType):
    """Market development funds: a percent of revenue, optionally capped."""

    kind = RuleKind.MDF
    reward_type = RewardType.MDF

    def validate(self, params):
        p = _Params(params)
        p.decimal("percent", label=_("The MDF percentage"), positive=True)
        p.decimal("cap", label=_("The cap"), required=False, positive=True)
        return p.done()

    def explain(self, params):
        if params.get("cap"):
            return _("MDF credit of %(percent)s%% of revenue, at most %(cap)s per period") % {
                "percent": fmt(params["percent"]),
                "cap": fmt(params["cap"]),
            }
        return _("MDF credit of %(percent)s%% of revenue") % {"percent": fmt(params["percent"])}

    def compute(self, params, context):
        if context.revenue <= 0:
            return []
        percent = Decimal(params["percent"])
        amount = money(context.revenue * percent / HUNDRED)
        capped = bool(params.get("cap")) and amount > Decimal(params["cap"])
        if capped:
            amount = money(params["cap"])
        reason = _("%(percent)s%% of revenue %(revenue)s") % {"percent": fmt(percent), "revenue": fmt(context.revenue)}
        if capped:
            reason = _("%(reason)s, capped at %(cap)s") % {"reason": reason, "cap": fmt(params["cap"])}
        detail = {"revenue": str(context.revenue), "capped": capped}
        return [Line(reward_type=self.reward_type, amount=amount, reason=reason, detail=detail)]


RULE_TYPES = {
    rule_type.kind: rule_type
    for rule_type in (
        RevenueRebate(),
        GrowthBonus(),
        Spiff(),
        NewCustomerBonus(),
        CertificationBonus(),
        PointsPerCurrency(),
        TripQualification(),
        ExclusiveAccess(),
        MdfCredit(),
    )
}


def rule_type_for(kind):
    try:
        return RULE_TYPES[kind]
    except KeyError:
        raise ValidationError(_("Unknown rule kind “%(kind)s”.") % {"kind": kind}) from None


def validate_rule(kind, params):
    """The cleaned parameters of a rule of `kind`, or a ValidationError keyed by parameter."""
    return rule_type_for(kind).validate(params)


def explain_rule(kind, params):
    return rule_type_for(kind).explain(params)
