"""Forms of the manager UI and the public application form (django-crispy-forms, Bootstrap 5)."""

import codecs

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Div, Field, Layout, Row, Submit
from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes.forms import SafeModelChoiceField

from .fields import AwareDateTimeField
from .imports.base import ImportOptions
from .imports.reader import SNIFF_BYTES
from .models import (
    Contact,
    ImportChannel,
    ImportEntity,
    ImportStatus,
    Interaction,
    InteractionKind,
    MembershipRole,
    Partner,
    PartnerApplication,
    PartnerType,
    Territory,
    Tier,
)
from .selectors import account_manager_choices


def form_helper(submit_label, *layout, form_tag=True):
    """A crispy helper with `layout` and a submit button (none when `submit_label` is empty)."""
    helper = FormHelper()
    helper.form_tag = form_tag
    if layout:
        helper.layout = Layout(*layout)
    if submit_label:
        helper.add_input(Submit("submit", submit_label))
    return helper


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


# --- Imports: the upload form of the manager UI and the filters of the import list -------------

IMPORT_EXTENSIONS = (".csv", ".txt")
# The first bytes of files that are mistaken for CSV most often, and how to name them to the user.
IMPORT_NOT_CSV = (
    (b"\x89PNG\r\n\x1a\n", _("a PNG image")),
    (b"\xff\xd8\xff", _("a JPEG image")),
    (b"GIF8", _("a GIF image")),
    (b"%PDF-", _("a PDF document")),
    (b"PK\x03\x04", _("a ZIP archive (an Excel .xlsx workbook is one)")),
    (b"PK\x05\x06", _("a ZIP archive (an Excel .xlsx workbook is one)")),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", _("an Excel .xls workbook or another Office document")),
    (b"\x1f\x8b", _("a gzip archive")),
    (b"\xff\xfe", _("UTF-16 text, which this import does not read")),
    (b"\xfe\xff", _("UTF-16 text, which this import does not read")),
)


class ImportUploadForm(forms.Form):
    """Upload one CSV file to import; the options map one to one onto `ImportOptions`."""

    entity = forms.ChoiceField(label=_("Data"), choices=ImportEntity.choices, initial=ImportEntity.SALES)
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("A .csv or .txt file; UTF-8 (with or without BOM) or Windows-1252, comma or semicolon separated."),
        widget=forms.FileInput(attrs={"accept": ".csv,.txt,text/csv,text/plain"}),
    )
    date_format = forms.ChoiceField(
        label=_("Dates"),
        choices=[("iso", _("ISO (YYYY-MM-DD)")), ("dmy", _("Day first (DD-MM-YYYY, DD.MM.YYYY, DD/MM/YYYY)"))],
        initial="iso",
    )
    decimal = forms.ChoiceField(
        label=_("Decimal separator"),
        choices=[
            ("auto", _("Automatic (comma in semicolon-separated files)")),
            ("point", _("Point (1234.56)")),
            ("comma", _("Comma (1234,56)")),
        ],
        initial="auto",
    )
    source = forms.CharField(
        label=_("Source system"),
        max_length=40,
        required=False,
        initial="erp",
        help_text=_(
            "Sales only: the system the external IDs come from. Re-importing a sale with the same source and external ID updates it."
        ),
    )
    dry_run = forms.BooleanField(label=_("Dry run"), required=False, help_text=_("Check every row and report the problems; write nothing."))
    allow_partial = forms.BooleanField(
        label=_("Allow a partial import"),
        required=False,
        help_text=_("Import the good rows and skip the rejected ones. By default a file with any bad row imports nothing."),
    )
    create_missing = forms.BooleanField(
        label=_("Create missing customers and products"),
        required=False,
        help_text=_(
            "Sales only: a customer or product SKU that does not exist yet is created (named after its ID) instead of rejecting "
            "the row. Unknown partners are always rejected."
        ),
    )

    def __init__(self, *args, refused_size=None, **kwargs):
        """`refused_size`: the upload was stopped while it streamed for passing the limit (its size in
        bytes); the file field then shows that error alone, and options the stop cut off take their
        initial value."""
        super().__init__(*args, **kwargs)
        self.refused_size = refused_size
        if refused_size is not None:
            self.fields["file"].required = False
            self.data = self.data.copy()
            for name, field in self.fields.items():
                if name not in self.data and field.initial is not None and not isinstance(field, forms.BooleanField):
                    self.data[name] = field.initial
        # The file comes last: a browser sends the fields in this order, so every option (and the CSRF
        # token before them) has arrived when an over-size file is stopped mid-stream.
        self.helper = form_helper(
            _("Upload and import"),
            Row(Column("entity", css_class="col-md-4"), Column("source", css_class="col-md-8")),
            Row(Column("date_format"), Column("decimal")),
            "dry_run",
            "allow_partial",
            "create_missing",
            "file",
        )

    def _too_large(self, size):
        limit = settings.PARTNERLOOP_IMPORT_MAX_BYTES
        return forms.ValidationError(
            _("The file is %(size)s; the limit is %(limit)s."),
            code="too_large",
            params={"size": filesizeformat(size), "limit": filesizeformat(limit)},
        )

    def clean_file(self):
        if self.refused_size is not None:
            raise self._too_large(self.refused_size)
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(IMPORT_EXTENSIONS):
            raise forms.ValidationError(
                _("Upload a CSV file: the name must end in .csv or .txt (this one is “%(name)s”)."),
                code="extension",
                params={"name": upload.name},
            )
        if upload.size > settings.PARTNERLOOP_IMPORT_MAX_BYTES:
            raise self._too_large(upload.size)
        # Only the first block is read, to refuse what is plainly not a CSV file before it is stored.
        head = upload.read(SNIFF_BYTES)
        upload.seek(0)
        if not head.removeprefix(codecs.BOM_UTF8).strip() and upload.size <= len(head):
            raise forms.ValidationError(_("The file is empty: it holds no header and no rows."), code="empty")
        kind = next((label for signature, label in IMPORT_NOT_CSV if head.startswith(signature)), None)
        if kind:
            raise forms.ValidationError(
                _("This is not a CSV file: it is %(kind)s. Save or export the data as CSV (UTF-8) and upload that file."),
                code="not_csv",
                params={"kind": kind},
            )
        if b"\x00" in head:
            raise forms.ValidationError(
                _("This is not a CSV file: it contains binary data. Save or export the data as CSV (UTF-8) and upload that file."),
                code="not_csv",
            )
        return upload

    def clean_source(self):
        return self.cleaned_data["source"].strip() or "erp"

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("entity") != ImportEntity.SALES:
            cleaned["create_missing"] = False  # only the sales import references other records by ID
        return cleaned

    def options(self) -> ImportOptions:
        data = self.cleaned_data
        return ImportOptions(
            dry_run=data["dry_run"],
            allow_partial=data["allow_partial"],
            create_missing=data["create_missing"],
            date_format=data["date_format"],
            decimal=data["decimal"],
            source=data["source"],
        )


class ImportFilterForm(forms.Form):
    """The filters of the import list; a value that is not a choice is ignored (the field stays empty)."""

    entity = forms.ChoiceField(label=_("Data"), choices=[("", _("All data"))] + ImportEntity.choices, required=False)
    status = forms.ChoiceField(label=_("Status"), choices=[("", _("Any status"))] + ImportStatus.choices, required=False)
    channel = forms.ChoiceField(label=_("Channel"), choices=[("", _("Any channel"))] + ImportChannel.choices, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-select form-select-sm"

    def filters(self):
        """{field: value} of the valid, non-empty filters."""
        self.is_valid()
        return {name: value for name, value in self.cleaned_data.items() if value}
