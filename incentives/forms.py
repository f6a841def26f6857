"""Forms of the channel managers' incentive pages (django-crispy-forms, Bootstrap 5).

Forms only parse input: programs, rules, periods, payouts, redemptions and tiers are written by
`services`, which own the business rules and raise the ValidationErrors shown on these forms. The
reward catalog and the tier rules are plain records, saved by their ModelForm in one transaction.

A rule's parameters are edited with one form per rule kind (`RULE_FORMS`): typed fields whose
`params()` builds the dict that `incentives.rules` validates; the revenue rebate adds its brackets
as rows of a formset. The rules' errors are keyed by parameter, and each parameter is a field of
the same name, so `RuleForm.add_service_error` puts every message beside its field.
"""

from crispy_forms.layout import Column, Fieldset, Row
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django_scopes.forms import SafeModelMultipleChoiceField

from core.forms import form_helper
from core.web import add_service_error
from partners.forms import AudienceForm
from partners.models import Partner, Tier

from .models import PayoutStatus, Program, ProgramStatus, RedemptionStatus, Reward, RuleKind, TierRule

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
# A running program publishes its criteria: only these may still change (see services.program_update).
RUNNING_PROGRAM_FIELDS = ("name", "description", "budget", "ends_on")


# --- programs ---------------------------------------------------------------------------------


class ProgramFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("Every status")), *ProgramStatus.choices])

    def filters(self):
        """The valid filters; a bad value is ignored (the list then shows every program)."""
        if not self.is_valid():
            return {"q": "", "status": ""}
        return {"q": self.cleaned_data["q"].strip(), "status": self.cleaned_data["status"]}


class ProgramForm(AudienceForm, forms.ModelForm):
    partners = SafeModelMultipleChoiceField(
        label=_("Hand-picked partners"),
        queryset=Partner.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text=_("None selected: every partner the criteria above let in."),
    )

    class Meta:
        model = Program
        fields = [
            "name",
            "description",
            "period",
            "starts_on",
            "ends_on",
            "earning_basis",
            "budget",
            "points_expiry_months",
            "partner_types",
            "tiers",
            "territories",
            "partners",
        ]
        widgets = {"starts_on": DATE_INPUT, "ends_on": DATE_INPUT, "description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Partner.objects is scoped: the queryset is built per form (manager requests run unscoped).
        self.fields["partners"].queryset = Partner.objects.order_by("name")
        self.running = bool(self.instance.pk) and self.instance.status != ProgramStatus.DRAFT
        if self.running:
            for name, field in self.fields.items():
                if name not in RUNNING_PROGRAM_FIELDS:
                    field.disabled = True
                    field.help_text = _("Published to partners: fixed once the program runs.")
        self.helper = form_helper(
            _("Save program"),
            Fieldset(_("Program"), "name", "description", Row(Column("period"), Column("starts_on"), Column("ends_on"))),
            Fieldset(_("Earnings"), Row(Column("earning_basis"), Column("budget"), Column("points_expiry_months"))),
            Fieldset(_("Who is in it"), Row(Column("partner_types"), Column("tiers"), Column("territories")), "partners"),
        )

    def service_fields(self):
        """Keyword arguments for `program_create` / `program_update`: only what may change."""
        data = dict(self.cleaned_data)
        relations = {name: data.pop(name) for name in ("tiers", "territories", "partners")}
        if self.running:
            return {name: data[name] for name in RUNNING_PROGRAM_FIELDS}
        return {**data, **{name: list(values) for name, values in relations.items()}}


class ConfirmForm(forms.Form):
    """An empty form: a POST that only confirms."""


# --- rules ------------------------------------------------------------------------------------


def _decimal(label, *, required=True, help_text=""):
    return forms.DecimalField(label=label, required=required, max_digits=18, decimal_places=4, help_text=help_text)


class RuleForm(forms.Form):
    """The fields every rule kind has; subclasses add the kind's parameters and build `params()`."""

    kind = None
    param_names = ()

    name = forms.CharField(label=_("Name"), required=False, max_length=200, help_text=_("Optional; the kind is shown when empty."))

    def __init__(self, *args, rule=None, **kwargs):
        if rule is not None and "initial" not in kwargs:
            kwargs["initial"] = {"name": rule.name, **self.initial_from(rule.params)}
        super().__init__(*args, **kwargs)
        self.helper = form_helper(None, form_tag=False)

    def initial_from(self, params):
        return {name: params.get(name) for name in self.param_names}

    def params(self):
        data = self.cleaned_data
        return {name: ("" if data.get(name) is None else str(data[name])) for name in self.param_names if data.get(name) not in (None, "")}

    def is_complete(self):
        return self.is_valid()

    def add_service_error(self, error):
        """The rules' ValidationError, keyed by parameter: each message beside the field of that parameter."""
        add_service_error(self, error)


class BracketForm(forms.Form):
    start = _decimal(_("From"))
    end = _decimal(_("Up to"), required=False, help_text=_("Empty on the last row: no upper limit."))
    rate = _decimal(_("Rate (%)"))


class BaseBracketFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        rows = [form.cleaned_data for form in self.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")]
        if not rows:
            raise ValidationError(_("Add at least one bracket."))


BracketFormSet = forms.formset_factory(BracketForm, formset=BaseBracketFormSet, extra=1, can_delete=True, max_num=20, validate_max=True)


class RevenueRebateForm(RuleForm):
    kind = RuleKind.REVENUE_REBATE
    mode = forms.ChoiceField(
        label=_("Mode"),
        choices=[("marginal", _("Marginal: each rate on its own slice")), ("whole", _("Whole amount: the rate reached on all revenue"))],
        initial="marginal",
    )

    def __init__(self, *args, rule=None, **kwargs):
        data = args[0] if args else kwargs.get("data")
        super().__init__(*args, rule=rule, **kwargs)
        if rule is not None and "initial" not in kwargs:
            self.initial["mode"] = rule.params.get("mode", "marginal")
        initial = [{"start": 0}] if data is None else None
        if rule is not None:
            initial = [{"start": b.get("from"), "end": b.get("to"), "rate": b.get("rate")} for b in rule.params.get("brackets", [])]
        self.brackets = BracketFormSet(data, initial=initial, prefix="brackets")

    def initial_from(self, params):
        return {"mode": params.get("mode", "marginal")}

    def is_complete(self):
        return all([self.is_valid(), self.brackets.is_valid()])

    def add_service_error(self, error):
        """Problems of the brackets (they name the bracket) go above the bracket rows, the rest beside their field."""
        if hasattr(error, "error_dict") and "brackets" in error.error_dict:
            errors = error.message_dict
            self.brackets.non_form_errors().extend(errors.pop("brackets"))
            if not errors:
                return
            error = ValidationError(errors)
        add_service_error(self, error)

    def params(self):
        rows = [form.cleaned_data for form in self.brackets.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")]
        rows.sort(key=lambda row: row["start"])
        return {
            "mode": self.cleaned_data["mode"],
            "brackets": [
                {"from": str(row["start"]), "to": None if row["end"] is None else str(row["end"]), "rate": str(row["rate"])} for row in rows
            ],
        }


class GrowthBonusForm(RuleForm):
    kind = RuleKind.GROWTH_BONUS
    param_names = ("min_growth_percent", "bonus_type", "bonus")
    min_growth_percent = _decimal(_("Minimum growth (%)"), help_text=_("Over the same period last year."))
    bonus_type = forms.ChoiceField(
        label=_("Bonus"), choices=[("fixed", _("A fixed amount")), ("percent", _("A percent of the period's revenue"))], initial="fixed"
    )
    bonus = _decimal(_("Bonus amount or percent"))


class SpiffForm(RuleForm):
    kind = RuleKind.SPIFF
    param_names = ("sku", "category", "amount_per_unit")
    sku = forms.CharField(label=_("SKU"), required=False, max_length=64)
    category = forms.CharField(label=_("Category"), required=False, max_length=120, help_text=_("Give a SKU or a category, not both."))
    amount_per_unit = _decimal(_("Amount per unit"))


class NewCustomerForm(RuleForm):
    kind = RuleKind.NEW_CUSTOMER
    param_names = ("amount_per_customer",)
    amount_per_customer = _decimal(_("Amount per new customer"))


class CertificationForm(RuleForm):
    kind = RuleKind.CERTIFICATION
    param_names = ("amount_per_certification",)
    amount_per_certification = _decimal(_("Amount per certification"))


class PointsForm(RuleForm):
    kind = RuleKind.POINTS
    param_names = ("points_per_unit",)
    points_per_unit = _decimal(_("Points per currency unit"))


class TripForm(RuleForm):
    kind = RuleKind.TRIP
    param_names = ("trip", "min_revenue")
    trip = forms.CharField(label=_("Trip"), max_length=200)
    min_revenue = _decimal(_("Revenue needed in the period"))


class ExclusiveAccessForm(RuleForm):
    kind = RuleKind.EXCLUSIVE_ACCESS
    param_names = ("resource", "min_revenue")
    resource = forms.CharField(label=_("Resource"), max_length=200)
    min_revenue = _decimal(_("Revenue needed in the period"))


class MdfForm(RuleForm):
    kind = RuleKind.MDF
    param_names = ("percent", "cap")
    percent = _decimal(_("MDF (percent of revenue)"))
    cap = _decimal(_("Cap per period"), required=False, help_text=_("Empty: no cap."))


RULE_FORMS = {
    form.kind: form
    for form in (
        RevenueRebateForm,
        GrowthBonusForm,
        SpiffForm,
        NewCustomerForm,
        CertificationForm,
        PointsForm,
        TripForm,
        ExclusiveAccessForm,
        MdfForm,
    )
}


# --- simulation -------------------------------------------------------------------------------


class SimulateForm(forms.Form):
    starts_on = forms.DateField(label=_("From"), widget=DATE_INPUT)
    ends_on = forms.DateField(label=_("Up to and including"), widget=DATE_INPUT)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = form_helper(_("Simulate"), Row(Column("starts_on"), Column("ends_on")))
        self.helper.form_method = "get"

    def clean(self):
        data = super().clean()
        if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
            self.add_error("ends_on", _("The end date cannot be before the start date."))
        return data


# --- payouts ----------------------------------------------------------------------------------


class PayoutFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("Every status")), *PayoutStatus.choices])

    def status_value(self):
        return self.cleaned_data["status"] if self.is_valid() else ""


class MarkPaidForm(forms.Form):
    reference = forms.CharField(label=_("Payment reference"), max_length=120, help_text=_("The bank or ERP reference of the transfer."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = form_helper(_("Mark paid"))


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, submit_label=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = form_helper(submit_label or _("Reject"))
        self.helper.inputs[0].field_classes = "btn btn-danger"


# --- rewards and redemptions ------------------------------------------------------------------


class RewardForm(forms.ModelForm):
    tiers = forms.ModelMultipleChoiceField(
        label=_("Tiers"),
        queryset=Tier.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every tier."),
    )

    class Meta:
        model = Reward
        fields = ["name", "description", "kind", "points_cost", "stock", "tiers", "approval_threshold", "is_active"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = form_helper(
            _("Save reward"),
            "name",
            "description",
            Row(Column("kind"), Column("points_cost"), Column("stock")),
            Row(Column("tiers"), Column("approval_threshold")),
            "is_active",
        )


class RedemptionFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("Every status")), *RedemptionStatus.choices])

    def status_value(self):
        return self.cleaned_data["status"] if self.is_valid() else ""


# --- tiers ------------------------------------------------------------------------------------


class TierRuleForm(forms.ModelForm):
    class Meta:
        model = TierRule
        fields = ["min_revenue", "min_certified_contacts", "min_approved_deals", "min_loyalty_score", "downgrade_grace_months"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = form_helper(
            _("Save tier rule"),
            Row(Column("min_revenue"), Column("min_certified_contacts"), Column("min_approved_deals")),
            Row(Column("min_loyalty_score"), Column("downgrade_grace_months")),
        )
