"""Filters of the channel overview: a period (preset or custom dates) and the partner filters."""

from datetime import date, timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from core.dates import month_start_after, quarter_start
from partners.models import PartnerType, Territory, Tier
from partners.selectors import account_manager_choices

from . import definitions as kpi

MONTH, QUARTER, YEAR, CUSTOM = "month", "quarter", "year", "custom"
PRESETS = [
    (MONTH, _("Last complete month")),
    (QUARTER, _("Last complete quarter")),
    (YEAR, _("Last 12 complete months")),
    (CUSTOM, _("Custom dates")),
]
MAX_MONTHS = 120  # a custom period of at most ten years keeps every chart readable and every query bounded
EARLIEST = date(1990, 1, 1)
LATEST = date(2200, 12, 31)


def preset_dates(preset, today):
    """(first day, last day) of a preset: complete months only, since sales are monthly rollups."""
    this_month = today.replace(day=1)
    if preset == MONTH:
        return month_start_after(this_month, -1), this_month - timedelta(days=1)
    if preset == QUARTER:
        this_quarter = quarter_start(today)
        return month_start_after(this_quarter, -3), this_quarter - timedelta(days=1)
    return month_start_after(this_month, -12), this_month - timedelta(days=1)


class AccountManagerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.get_username()


class OverviewFilterForm(forms.Form):
    period = forms.ChoiceField(label=_("Period"), choices=PRESETS, required=False)
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    territory = forms.ModelChoiceField(
        label=_("Territory"), queryset=Territory.objects.none(), required=False, empty_label=_("Every territory")
    )
    tier = forms.ModelChoiceField(label=_("Tier"), queryset=Tier.objects.none(), required=False, empty_label=_("Every tier"))
    partner_type = forms.ChoiceField(label=_("Type"), required=False, choices=[("", _("Every type")), *PartnerType.choices])
    account_manager = AccountManagerChoiceField(
        label=_("Account manager"), queryset=get_user_model().objects.none(), required=False, empty_label=_("Every account manager")
    )

    def __init__(self, *args, today, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["territory"].queryset = Territory.objects.order_by("name")
        self.fields["tier"].queryset = Tier.objects.order_by("rank")
        self.fields["account_manager"].queryset = account_manager_choices()

    def clean(self):
        data = super().clean()
        preset = data.get("period") or QUARTER
        data["period"] = preset
        if preset != CUSTOM:
            data["start"], data["end"] = preset_dates(preset, self.today)
            return data
        start, end = data.get("start"), data.get("end")
        if "start" not in self.errors and start is None:
            self.add_error("start", _("Give the first day of a custom period."))
        if "end" not in self.errors and end is None:
            self.add_error("end", _("Give the last day of a custom period."))
        if start is None or end is None:
            return data
        if not (EARLIEST <= start <= LATEST and EARLIEST <= end <= LATEST):
            self.add_error(None, _("Choose dates between %(first)s and %(last)s.") % {"first": EARLIEST.year, "last": LATEST.year})
        elif end < start:
            self.add_error("end", _("The period cannot end before it starts."))
        elif kpi.Period.from_dates(start, end).length > MAX_MONTHS:
            self.add_error("end", _("Choose a period of at most %(months)s months.") % {"months": MAX_MONTHS})
        return data

    @property
    def period_dates(self):
        return self.cleaned_data["start"], self.cleaned_data["end"]

    def filters(self):
        """The partner filters as the selectors take them (ids, a type value); empty ones left out."""
        data = self.cleaned_data
        values = {
            "territory": data["territory"].pk if data.get("territory") else None,
            "tier": data["tier"].pk if data.get("tier") else None,
            "partner_type": data.get("partner_type") or None,
            "account_manager": data["account_manager"].pk if data.get("account_manager") else None,
        }
        return {key: value for key, value in values.items() if value is not None}
