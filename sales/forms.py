"""Forms of the import pages: the upload and the list filter."""

import codecs

from crispy_forms.layout import Column, Row
from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from core.forms import form_helper

from .imports.base import ImportOptions
from .imports.reader import SNIFF_BYTES
from .models import ImportChannel, ImportEntity, ImportStatus

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
