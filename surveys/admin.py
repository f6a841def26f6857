"""Django admin for the feedback loop: every model, translated texts per language, useful inlines.

Scopes: `TenantScopeMiddleware` runs staff requests with scopes disabled, so the querysets here are
plain. What carries business rules is read-only here and done in the manager UI, which goes through
`services`: answers are never edited (they are what partners sent), and an idea's status and merges
are changed on the triage page so that the history is written and the author notified.
"""

from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TranslationAdmin, TranslationStackedInline, TranslationTabularInline

from core.admin import ReadOnlyInline

from .models import Answer, Choice, Idea, IdeaEvent, Invitation, Question, Response, Survey, Wave


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewable (and deletable, for data requests); never added or edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# --- surveys and questions ------------------------------------------------------------------------


class QuestionInline(TranslationStackedInline):
    model = Question
    fields = ["position", "kind", "text", "help_text", "is_required"]
    extra = 0
    show_change_link = True
    ordering = ["position", "id"]


class WaveInline(admin.TabularInline):
    model = Wave
    fields = ["name", "opens_at", "closes_at", "invitations_sent_at"]
    readonly_fields = ["invitations_sent_at"]
    extra = 0
    show_change_link = True


@admin.register(Survey)
class SurveyAdmin(TranslationAdmin):
    list_display = [
        "title",
        "audience",
        "is_anonymous",
        "one_response_per_partner",
        "recurrence",
        "wave_count",
        "is_archived",
        "created_at",
    ]
    list_filter = ["is_archived", "is_anonymous", "one_response_per_partner", "recurrence", "tiers", "territories"]
    search_fields = ["title_en", "title_nl", "title_de", "intro_en"]
    filter_horizontal = ["tiers", "territories"]
    readonly_fields = ["created_by", "created_at", "updated_at"]
    date_hierarchy = "created_at"
    inlines = [QuestionInline, WaveInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(wave_count=Count("waves")).prefetch_related("tiers", "territories")

    @admin.display(description=_("audience"))
    def audience(self, obj):
        return obj.audience_description()

    @admin.display(description=_("waves"), ordering="wave_count")
    def wave_count(self, obj):
        return obj.wave_count


class ChoiceInline(TranslationTabularInline):
    model = Choice
    fields = ["position", "text"]
    extra = 0
    ordering = ["position", "id"]


@admin.register(Question)
class QuestionAdmin(TranslationAdmin):
    list_display = ["text", "survey", "kind", "is_required", "position"]
    list_filter = ["kind", "is_required", ("survey", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["survey"]
    search_fields = ["text_en", "text_nl", "text_de", "survey__title_en"]
    autocomplete_fields = ["survey"]
    inlines = [ChoiceInline]


@admin.register(Choice)
class ChoiceAdmin(TranslationAdmin):
    list_display = ["text", "question", "position"]
    list_filter = [("question__survey", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["question"]
    search_fields = ["text_en", "text_nl", "text_de", "question__text_en"]
    autocomplete_fields = ["question"]


# --- waves, invitations, responses ----------------------------------------------------------------


@admin.register(Wave)
class WaveAdmin(admin.ModelAdmin):
    list_display = ["name", "survey", "opens_at", "closes_at", "state", "invitations_sent_at", "invitation_count", "response_count"]
    list_filter = [("survey", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["survey"]
    search_fields = ["name", "survey__title_en"]
    autocomplete_fields = ["survey"]
    readonly_fields = ["invitations_sent_at", "created_at"]
    date_hierarchy = "opens_at"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(invitation_count=Count("invitations", distinct=True), response_count=Count("responses", distinct=True))
        )

    @admin.display(description=_("state"))
    def state(self, obj):
        return obj.state

    @admin.display(description=_("invitations"), ordering="invitation_count")
    def invitation_count(self, obj):
        return obj.invitation_count

    @admin.display(description=_("responses"), ordering="response_count")
    def response_count(self, obj):
        return obj.response_count


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ["wave", "partner", "user", "sent_at", "reminders_sent", "last_reminded_at", "responded_at"]
    list_filter = [("wave__survey", admin.RelatedOnlyFieldListFilter), ("responded_at", admin.EmptyFieldListFilter)]
    list_select_related = ["wave__survey", "partner", "user"]
    search_fields = ["partner__name", "user__email", "wave__name"]
    date_hierarchy = "sent_at"


class AnswerInline(ReadOnlyInline):
    model = Answer
    fields = ["question", "number", "chosen", "text"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("question").prefetch_related("choices")

    @admin.display(description=_("choices"))
    def chosen(self, obj):
        return "; ".join(choice.text for choice in obj.choices.all())


@admin.register(Response)
class ResponseAdmin(ReadOnlyAdmin):
    """Responses of named surveys only: an anonymous response shown with its partner could be traced to its author."""

    list_display = ["wave", "partner", "respondent", "submitted_at"]
    list_filter = [("wave__survey", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["wave__survey", "partner", "user"]
    search_fields = ["partner__name", "user__email", "wave__name"]
    fields = ["wave", "partner", "user", "submitted_at"]
    date_hierarchy = "submitted_at"
    inlines = [AnswerInline]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(wave__survey__is_anonymous=False)

    @admin.display(description=_("user"))
    def respondent(self, obj):
        return obj.user or "—"


@admin.register(Answer)
class AnswerAdmin(ReadOnlyAdmin):
    """Answers of named surveys only, like the responses: anonymous answers are read on the results page."""

    list_display = ["question", "response", "number", "text_excerpt"]
    list_filter = ["question__kind", ("question__survey", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["question", "response__wave__survey", "response__partner"]
    search_fields = ["text", "question__text_en"]
    fields = ["response", "question", "number", "choices", "text"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(response__wave__survey__is_anonymous=False)

    @admin.display(description=_("text"))
    def text_excerpt(self, obj):
        return Truncator(obj.text).chars(60)


# --- ideas ----------------------------------------------------------------------------------------


class IdeaEventInline(ReadOnlyInline):
    model = IdeaEvent
    fk_name = "idea"
    fields = ["created_at", "kind", "author", "from_status", "to_status", "body"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author")


@admin.register(Idea)
class IdeaAdmin(admin.ModelAdmin):
    list_display = ["title", "partner", "kind", "status", "merged_into", "created_at", "first_answered_at", "triage_link"]
    list_filter = ["status", "kind", ("merged_into", admin.EmptyFieldListFilter), ("first_answered_at", admin.EmptyFieldListFilter)]
    list_select_related = ["partner", "merged_into"]
    search_fields = ["title", "body", "partner__name", "author__email"]
    autocomplete_fields = ["partner", "author"]
    readonly_fields = ["status", "merged_into", "first_answered_at", "created_at", "updated_at", "triage_link"]
    date_hierarchy = "created_at"
    inlines = [IdeaEventInline]

    @admin.display(description=_("triage"))
    def triage_link(self, obj):
        if not obj.pk:
            return "-"
        return format_html('<a href="{}">{}</a>', reverse("surveys:idea_detail", args=[obj.pk]), _("Reply, change status, merge"))


@admin.register(IdeaEvent)
class IdeaEventAdmin(ReadOnlyAdmin):
    list_display = ["idea", "kind", "author", "from_status", "to_status", "created_at"]
    list_filter = ["kind", "to_status"]
    list_select_related = ["idea", "author"]
    search_fields = ["idea__title", "body"]
    date_hierarchy = "created_at"
