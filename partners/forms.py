"""Forms of the manager UI and the public application form (django-crispy-forms, Bootstrap 5)."""


from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Div, Field, Layout, Row
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes.forms import SafeModelChoiceField

from core.forms import form_helper

from .fields import AwareDateTimeField
from .models import Contact, Interaction, InteractionKind, MembershipRole, Partner, PartnerApplication, PartnerType, Territory, Tier
from .selectors import account_manager_choices


class AudienceForm(forms.Form):
    """Who an incentive program or a survey is for: partner types, tiers, territories (none ticked: all)."""

    partner_types = forms.MultipleChoiceField(
        label=_("Partner types"),
        choices=PartnerType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every type."),
    )
    tiers = forms.ModelMultipleChoiceField(
        label=_("Tiers"),
        queryset=Tier.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every tier."),
    )
    territories = forms.ModelMultipleChoiceField(
        label=_("Territories"),
        queryset=Territory.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every territory."),
    )


class StaffUserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.username


class PartnerForm(forms.ModelForm):
    # Declared so the class builds without querying the scoped Partner manager at import time.
    parent = SafeModelChoiceField(queryset=Partner.objects.none(), required=False, label=_("Distributor"))
    account_manager = StaffUserChoiceField(
        queryset=account_manager_choices(),
        required=False,
        label=_("Account manager"),
    )

    class Meta:
        model = Partner
        fields = [
            "name",
            "legal_name",
            "partner_type",
            "status",
            "parent",
            "tier",
            "territory",
            "country",
            "account_manager",
            "joined_on",
            "churned_on",
            "website",
            "external_id",
        ]
        widgets = {"joined_on": forms.DateInput(attrs={"type": "date"}), "churned_on": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        distributors = Partner.objects.filter(partner_type=PartnerType.DISTRIBUTOR, parent__isnull=True)
        if self.instance.pk:
            distributors = distributors.exclude(pk=self.instance.pk)
        self.fields["parent"].queryset = distributors.order_by("name")
        self.helper = form_helper(
            _("Save partner"),
            Row(Column("name"), Column("legal_name")),
            Row(Column("partner_type"), Column("status"), Column("parent")),
            Row(Column("tier"), Column("territory"), Column("country")),
            Row(Column("account_manager"), Column("joined_on"), Column("churned_on")),
            Row(Column("website"), Column("external_id")),
        )

    def clean_external_id(self):
        # The unique constraint is conditional (blanks allowed), so Django reports a clash only as
        # a form-wide "Constraint ... is violated"; say it on the field, in words.
        value = self.cleaned_data["external_id"].strip()
        if value and Partner.objects.filter(external_id=value).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(_("Another partner already has this external ID."))
        return value


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = ["first_name", "last_name", "role", "email", "phone", "is_primary"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = form_helper(
            _("Save contact"),
            Row(Column("first_name"), Column("last_name")),
            Row(Column("role"), Column("email"), Column("phone")),
            "is_primary",
        )


class InteractionForm(forms.ModelForm):
    kind = forms.ChoiceField(choices=[(k.value, k.label) for k in InteractionKind.manual()], label=_("Kind"))
    occurred_at = AwareDateTimeField(
        label=_("Date"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )

    class Meta:
        model = Interaction
        fields = ["kind", "occurred_at", "summary", "details", "is_internal"]
        widgets = {"details": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("occurred_at", timezone.localtime().replace(second=0, microsecond=0))
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(Row(Column("kind"), Column("occurred_at")), "summary", "details", "is_internal")

    def clean_occurred_at(self):
        value = self.cleaned_data["occurred_at"]
        if value > timezone.now() + timezone.timedelta(days=366):
            raise forms.ValidationError(_("The date is more than a year in the future."))
        return value


class MemberInviteForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    email = forms.EmailField(label=_("E-mail"))
    role = forms.ChoiceField(label=_("Role"), choices=MembershipRole.choices, initial=MembershipRole.USER)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = form_helper(
            _("Send invitation"), Row(Column("first_name"), Column("last_name")), Row(Column("email"), Column("role"))
        )


class ApplicationForm(forms.ModelForm):
    """The public "become a partner" form; `website_url` is a honeypot that people never see."""

    website_url = forms.CharField(
        required=False,
        label=_("Leave empty"),
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )
    accept_terms = forms.BooleanField(label=_("I agree that PartnerLoop stores these details to review my application."))

    class Meta:
        model = PartnerApplication
        fields = [
            "company_name",
            "legal_name",
            "partner_type",
            "country",
            "website",
            "first_name",
            "last_name",
            "email",
            "phone",
            "message",
        ]
        widgets = {"message": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = form_helper(
            _("Send application"),
            Div(Row(Column("company_name"), Column("legal_name")), Row(Column("partner_type"), Column("country"), Column("website"))),
            Row(Column("first_name"), Column("last_name")),
            Row(Column("email"), Column("phone")),
            "message",
            Div(Field("website_url"), css_class="visually-hidden", aria_hidden="true"),
            "accept_terms",
        )

    def clean_website_url(self):
        if self.cleaned_data.get("website_url"):
            raise forms.ValidationError(_("Please leave this field empty."))
        return ""


class ApplicationAcceptForm(forms.Form):
    tier = forms.ModelChoiceField(queryset=Tier.objects.all(), required=False, label=_("Tier"))
    territory = forms.ModelChoiceField(queryset=Territory.objects.all(), required=False, label=_("Territory"))
    account_manager = StaffUserChoiceField(
        queryset=account_manager_choices(),
        required=False,
        label=_("Account manager"),
        help_text=_("Leave empty to manage this partner yourself."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False


class ApplicationDeclineForm(forms.Form):
    decline_reason = forms.CharField(label=_("Reason (sent to the applicant)"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
