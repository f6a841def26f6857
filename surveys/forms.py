"""Forms of the channel managers' side of the feedback loop (django-crispy-forms, Bootstrap 5).

Translatable texts are edited per language: one field per language (`title_en`, `title_nl`...), as
django-modeltranslation stores them; the default language is required, the others fall back to it.

The writes are in `services.py` (a survey's settings, archiving, moving and deleting a question,
duplicate, waves, answering, the ideas board); a question with its choices is still saved by
`QuestionBuilder.save()` in one transaction, since it saves the choice formset's rows.
"""

from crispy_forms.layout import Column, Fieldset, Row
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, Max, OuterRef
from django.forms.models import BaseInlineFormSet, inlineformset_factory
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_scopes.forms import SafeModelChoiceField
from modeltranslation.utils import get_translation_fields

from core.forms import form_helper
from partners.fields import AwareDateTimeField
from partners.forms import AudienceForm
from partners.models import Partner, PartnerType, Territory, Tier

from . import selectors, services
from .models import Choice, Idea, IdeaKind, IdeaStatus, Question, Recurrence, Survey

DEFAULT_LANGUAGE = settings.MODELTRANSLATION_DEFAULT_LANGUAGE
DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _per_language(form, name, label):
    """Label the language fields of `name` ("Title (Dutch)") and require only the default language."""
    languages = dict(settings.LANGUAGES)
    # The language columns are nullable, so their form fields are optional; the default language
    # is required exactly when the original field is (it is what the others fall back to).
    required = not form._meta.model._meta.get_field(name).blank
    for field_name in get_translation_fields(name):
        code = field_name.rsplit("_", 1)[1]
        field = form.fields[field_name]
        field.label = gettext("%(field)s (%(language)s)") % {"field": label, "language": languages.get(code, code)}
        field.required = required and code == DEFAULT_LANGUAGE
        if code != DEFAULT_LANGUAGE:
            field.help_text = gettext("Empty: the English text is shown.")
    return Row(*[Column(field_name) for field_name in get_translation_fields(name)])


# --- surveys --------------------------------------------------------------------------------------


class SurveyFilterForm(forms.Form):
    ACTIVE, ARCHIVED, ALL = selectors.SURVEYS_ACTIVE, selectors.SURVEYS_ARCHIVED, selectors.SURVEYS_ALL

    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    archived = forms.ChoiceField(
        label=_("Show"),
        required=False,
        choices=[(ACTIVE, _("Active surveys")), (ARCHIVED, _("Archived surveys")), (ALL, _("All surveys"))],
    )

    def filters(self):
        """The valid filters; a bad value is ignored (the list then shows the active surveys)."""
        if not self.is_valid():
            return {"q": "", "archived": self.ACTIVE}
        return {"q": self.cleaned_data["q"].strip(), "archived": self.cleaned_data["archived"]}


class SurveyForm(AudienceForm, forms.ModelForm):
    max_reminders = forms.IntegerField(
        label=_("Reminders at most"), min_value=0, max_value=10, initial=2, help_text=_("0: no reminders. Never sent after the close.")
    )
    reminder_interval_days = forms.IntegerField(label=_("Days between reminders"), min_value=1, max_value=90, initial=7)
    wave_length_days = forms.IntegerField(
        label=_("Days a wave stays open"), min_value=1, max_value=366, initial=21, help_text=_("Used for pulse waves and as the default.")
    )

    class Meta:
        model = Survey
        fields = [
            *get_translation_fields("title"),
            *get_translation_fields("intro"),
            "partner_types",
            "tiers",
            "territories",
            "one_response_per_partner",
            "is_anonymous",
            "max_reminders",
            "reminder_interval_days",
            "recurrence",
            "wave_length_days",
        ]
        widgets = {name: forms.Textarea(attrs={"rows": 3}) for name in get_translation_fields("intro")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        titles = _per_language(self, "title", gettext("Title"))
        intros = _per_language(self, "intro", gettext("Introduction"))
        self.fields["recurrence"].help_text = _("A pulse survey opens a new wave at the start of every period.")
        # The anonymity lock is the service's (`services.survey_update`); the form shows it as disabled fields.
        for name in services.survey_locked_fields(survey=self.instance):
            self.fields[name].disabled = True
            self.fields[name].help_text = services.SURVEY_LOCKED_MESSAGE
        self.helper = form_helper(
            _("Save survey"),
            Fieldset(gettext("Title and introduction"), titles, intros),
            Fieldset(
                gettext("Audience"),
                Row(Column("partner_types"), Column("tiers"), Column("territories")),
                Row(Column("one_response_per_partner"), Column("is_anonymous")),
            ),
            Fieldset(
                gettext("Waves and reminders"),
                Row(Column("recurrence"), Column("wave_length_days")),
                Row(Column("max_reminders"), Column("reminder_interval_days")),
            ),
        )

    def service_fields(self):
        """The valid input as `services.survey_create`/`survey_update` take it.

        The fields as validation set them on the form's instance (so a value the form leaves alone
        keeps the instance's), the tiers and territories from the cleaned data.
        """
        fields = {name: getattr(self.instance, name) for name in self._meta.fields if name not in services.SURVEY_M2M_FIELDS}
        return {**fields, **{name: self.cleaned_data[name] for name in services.SURVEY_M2M_FIELDS}}


# --- questions ------------------------------------------------------------------------------------


class QuestionForm(forms.ModelForm):
    class Meta:
        model = Question
        fields = ["kind", *get_translation_fields("text"), *get_translation_fields("help_text"), "is_required"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.has_answers = bool(self.instance.pk) and self.instance.answers.exists()
        if self.has_answers:
            self.fields["kind"].disabled = True
            self.fields["kind"].help_text = _("The question has answers: its kind can no longer change.")
        texts = _per_language(self, "text", gettext("Question"))
        helps = _per_language(self, "help_text", gettext("Help text"))
        self.helper = form_helper(None, Row(Column("kind"), Column("is_required")), texts, helps, form_tag=False)


class ChoiceForm(forms.ModelForm):
    class Meta:
        model = Choice
        fields = get_translation_fields("text")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _per_language(self, "text", gettext("Choice"))
        for field in self.fields.values():
            field.help_text = ""


class BaseChoiceFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        for form in self.deleted_forms:
            if form.instance.pk and form.instance.answers.exists():
                raise ValidationError(gettext("“%(choice)s” was chosen in answers and cannot be removed.") % {"choice": form.instance.text})

    def kept_forms(self):
        """The filled-in rows that stay, in the order shown."""
        return [form for form in self.forms if form not in self.deleted_forms and (form.instance.pk or form.has_changed())]


class QuestionBuilder:
    """A question and its choices, validated and saved together.

    The choices matter only for single and multiple choice (at least two,
    `services.question_validate`); saving another kind removes choices left over from a kind change.
    """

    EXTRA_CHOICES = 4

    def __init__(self, *, survey, question=None, data=None):
        self.survey = survey
        self.question = question or Question(survey=survey)
        self.form = QuestionForm(data, instance=self.question, prefix="question")
        existing = self.question.choices.count() if self.question.pk else 0
        formset_class = inlineformset_factory(
            Question,
            Choice,
            form=ChoiceForm,
            formset=BaseChoiceFormSet,
            extra=max(2, self.EXTRA_CHOICES - existing),
            can_delete=True,
        )
        self.choices = formset_class(data, instance=self.question, prefix="choices", queryset=Choice.objects.order_by("position", "pk"))
        self.choice_errors = []

    @property
    def errors(self):
        return bool(self.form.errors or self.choices.total_error_count() or self.choice_errors)

    def is_valid(self):
        form_valid = self.form.is_valid()
        choices_valid = self.choices.is_valid()
        if not (form_valid and choices_valid):
            return False
        question = self.form.instance  # the kind and texts of the form are set on it by now
        if question.has_choices:
            texts = [form.cleaned_data.get(f"text_{DEFAULT_LANGUAGE}") or "" for form in self.choices.kept_forms()]
            try:
                services.question_validate(question=question, choice_texts=texts)
            except ValidationError as error:
                self.choice_errors = error.messages
                return False
        return True

    @transaction.atomic
    def save(self):
        question = self.form.save(commit=False)
        if question.pk is None:
            last = Question.objects.filter(survey=self.survey).aggregate(last=Max("position"))["last"]
            question.position = 0 if last is None else last + 1
        question.save()
        if not question.has_choices:
            question.choices.all().delete()
            return question
        kept = self.choices.kept_forms()
        for form in self.choices.deleted_forms:
            if form.instance.pk:
                form.instance.delete()
        for position, form in enumerate(kept):
            choice = form.save(commit=False)
            choice.question = question
            choice.position = position
            choice.save()
        return question


class QuestionMoveForm(forms.Form):
    direction = forms.ChoiceField(choices=[("up", _("Up")), ("down", _("Down"))])


# --- waves ----------------------------------------------------------------------------------------


class WaveForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120, help_text=_("For example: Q3 2026."))
    opens_at = AwareDateTimeField(label=_("Opens at"), widget=DATETIME_INPUT, help_text=_("Invitations are sent when the wave opens."))
    closes_at = AwareDateTimeField(label=_("Closes at"), widget=DATETIME_INPUT)

    def __init__(self, *args, survey, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            now = timezone.localtime().replace(second=0, microsecond=0)
            self.initial.setdefault("opens_at", now)
            self.initial.setdefault("closes_at", now + timezone.timedelta(days=survey.wave_length_days))
            if survey.recurrence != Recurrence.NONE:
                self.initial.setdefault(
                    "name", services.period_name(survey.recurrence, services.period_start(survey.recurrence, now.date()))
                )
        self.helper = form_helper(_("Create wave"), "name", Row(Column("opens_at"), Column("closes_at")))

    def clean_name(self):
        return self.cleaned_data["name"].strip()

    def clean(self):
        cleaned = super().clean()
        opens_at, closes_at = cleaned.get("opens_at"), cleaned.get("closes_at")
        if opens_at and closes_at and closes_at <= opens_at:
            self.add_error("closes_at", _("A wave must close after it opens."))
        return cleaned


class ResultsFilterForm(forms.Form):
    """Results for one group of partners: a tier, a partner type and/or a territory."""

    tier = forms.ModelChoiceField(label=_("Tier"), queryset=Tier.objects.all(), required=False, empty_label=_("Every tier"))
    partner_type = forms.ChoiceField(label=_("Partner type"), choices=[("", _("Every type")), *PartnerType.choices], required=False)
    territory = forms.ModelChoiceField(
        label=_("Territory"), queryset=Territory.objects.all(), required=False, empty_label=_("Every territory")
    )

    def group(self):
        """The `wave_results(group=...)` filter, or None; invalid values are ignored."""
        if not self.is_valid():
            return None
        data = self.cleaned_data
        group = {}
        if data["tier"]:
            group["tier_id"] = data["tier"].pk
        if data["partner_type"]:
            group["partner_type"] = data["partner_type"]
        if data["territory"]:
            group["territory_id"] = data["territory"].pk
        return group or None


# --- ideas ----------------------------------------------------------------------------------------


class IdeaFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200, help_text=_("Title, description, partner or #id."))
    status = forms.ChoiceField(label=_("Status"), choices=[("", _("Any status")), *IdeaStatus.choices], required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", _("Any kind")), *IdeaKind.choices], required=False)
    partner = SafeModelChoiceField(label=_("Partner"), queryset=Partner.objects.none(), required=False, empty_label=_("Every partner"))
    merged = forms.BooleanField(label=_("Include merged duplicates"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Only partners that posted something: the list stays short even with many partners.
        self.fields["partner"].queryset = Partner.objects.filter(Exists(Idea.objects.filter(partner=OuterRef("pk")))).order_by("name")

    def filters(self):
        if not self.is_valid():
            return {}
        return {name: value for name, value in self.cleaned_data.items() if value not in (None, "", False)}


class IdeaReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Reply"), max_length=5000, widget=forms.Textarea(attrs={"rows": 4}), help_text=_("The author is e-mailed.")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = form_helper(None, "body", form_tag=False)


class IdeaStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"), choices=IdeaStatus.choices)
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Optional; shown to the partner with the change."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = form_helper(None, "status", "note", form_tag=False)


class IdeaMergeForm(forms.Form):
    """Merge into another idea: one that is not itself merged (and not this idea or its duplicates)."""

    into = SafeModelChoiceField(
        label=_("Merge into"),
        queryset=Idea.objects.none(),
        error_messages={"invalid_choice": _("Choose an idea that is not itself merged.")},
    )

    def __init__(self, *args, idea, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["into"].queryset = merge_candidates(idea)


def merge_candidates(idea):
    return Idea.objects.filter(merged_into__isnull=True).exclude(pk=idea.pk).select_related("partner")
