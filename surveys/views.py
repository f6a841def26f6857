"""The channel managers' side of the feedback loop: survey builder, waves, results and ideas triage.

Every view is for channel managers (`ManagerRequiredMixin`) and checks one model permission of the
`surveys` app (granted to the "Channel managers" group by `partners.roles`). The middleware runs
manager requests with the partner scope disabled, so partner-owned rows (responses, ideas) are read
across partners here, as the triage and the results need.

Views stay thin: forms parse the input, `services` write (and raise the ValidationErrors the forms
show), `selectors` read: the results and also the page-specific reads (the survey list with its
latest wave, the waves with their counts, the CSV rows), each built to a fixed number of queries.
"""

import csv

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from core.csv import safe_cell
from core.web import add_service_error, confirm, paginate, querystring_without_page
from partners.models import PartnerType
from partners.views import ManagerRequiredMixin

from . import selectors, services
from .forms import (
    IdeaFilterForm,
    IdeaMergeForm,
    IdeaReplyForm,
    IdeaStatusForm,
    QuestionBuilder,
    QuestionMoveForm,
    ResultsFilterForm,
    SurveyFilterForm,
    SurveyForm,
    WaveForm,
    merge_candidates,
)
from .models import Idea, Question, QuestionKind, Survey, Wave

WAVE_STATES = {"scheduled": gettext_lazy("Scheduled"), "open": gettext_lazy("Open"), "closed": gettext_lazy("Closed")}
BREAKDOWN_LABELS = {"tier": gettext_lazy("By tier"), "type": gettext_lazy("By partner type"), "territory": gettext_lazy("By territory")}


# --- lookups --------------------------------------------------------------------------------------


def _survey(pk):
    return get_object_or_404(Survey.objects.prefetch_related("tiers", "territories"), pk=pk)


def _wave(survey, wave_pk):
    return get_object_or_404(Wave.objects.select_related("survey"), pk=wave_pk, survey=survey)


def _question(survey, question_pk):
    return get_object_or_404(Question, pk=question_pk, survey=survey)


# --- surveys --------------------------------------------------------------------------------------


class SurveyListView(ManagerRequiredMixin, View):
    permission_required = "surveys.view_survey"

    def get(self, request):
        filter_form = SurveyFilterForm(request.GET)
        page_obj = paginate(request, selectors.survey_list(**filter_form.filters()))
        selectors.attach_latest_results(page_obj.object_list)
        context = {
            "filter_form": filter_form,
            "page_obj": page_obj,
            "querystring": querystring_without_page(request),
            "states": WAVE_STATES,
        }
        return render(request, "surveys/survey_list.html", context)


class SurveyCreateView(ManagerRequiredMixin, View):
    permission_required = "surveys.add_survey"

    def get(self, request):
        return render(request, "surveys/survey_form.html", {"form": SurveyForm()})

    def post(self, request):
        form = SurveyForm(request.POST)
        if form.is_valid():
            try:
                survey = services.survey_create(by=request.user, **form.service_fields())
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, _("Survey “%(title)s” created. Add its questions next.") % {"title": survey.title})
                return redirect("surveys:detail", pk=survey.pk)
        return render(request, "surveys/survey_form.html", {"form": form}, status=400)


class SurveyDetailView(ManagerRequiredMixin, View):
    """The survey page: settings, questions (added, edited, reordered here) and waves."""

    permission_required = "surveys.view_survey"

    def get(self, request, pk):
        survey = _survey(pk)
        waves = paginate(request, selectors.waves_with_counts(survey))
        selectors.attach_wave_figures(waves.object_list)
        context = {"survey": survey, "questions": selectors.survey_questions(survey), "waves": waves, "states": WAVE_STATES}
        return render(request, "surveys/survey_detail.html", context)


class SurveyUpdateView(ManagerRequiredMixin, View):
    permission_required = "surveys.change_survey"

    def _render(self, request, survey, form, status=200):
        context = {"form": form, "survey": survey, "questions": selectors.survey_questions(survey)}
        return render(request, "surveys/survey_form.html", context, status=status)

    def get(self, request, pk):
        survey = _survey(pk)
        return self._render(request, survey, SurveyForm(instance=survey))

    def post(self, request, pk):
        survey = _survey(pk)
        form = SurveyForm(request.POST, instance=survey)
        if form.is_valid():
            try:
                services.survey_update(survey=survey, **form.service_fields())
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, _("Survey “%(title)s” saved.") % {"title": survey.title})
                return redirect("surveys:detail", pk=survey.pk)
        return self._render(request, survey, form, status=400)


class SurveyArchiveView(ManagerRequiredMixin, View):
    """Archive (or bring back) a survey, after a confirmation page."""

    permission_required = "surveys.change_survey"

    def get(self, request, pk):
        survey = _survey(pk)
        if survey.is_archived:
            title, message, button = (
                _("Unarchive this survey?"),
                _("“%(title)s” shows among the active surveys again; pulse waves resume at the next period.") % {"title": survey.title},
                _("Yes, unarchive"),
            )
        else:
            title, message, button = (
                _("Archive this survey?"),
                _("“%(title)s” leaves the active surveys and no new pulse waves are created. Open waves stay open until they close.")
                % {"title": survey.title},
                _("Yes, archive"),
            )
        return confirm(request, title=title, message=message, button=button, cancel_url=reverse("surveys:detail", args=[survey.pk]))

    def post(self, request, pk):
        survey = _survey(pk)
        services.survey_archive(survey=survey, archived=not survey.is_archived)
        if survey.is_archived:
            messages.success(request, _("Survey “%(title)s” archived.") % {"title": survey.title})
        else:
            messages.success(request, _("Survey “%(title)s” is active again.") % {"title": survey.title})
        return redirect("surveys:detail", pk=survey.pk)


class SurveyDuplicateView(ManagerRequiredMixin, View):
    permission_required = "surveys.add_survey"

    def get(self, request, pk):
        survey = _survey(pk)
        return confirm(
            request,
            title=_("Duplicate this survey?"),
            message=_("A copy of “%(title)s” is made with its settings, questions and choices in every language, without its waves.")
            % {"title": survey.title},
            button=_("Yes, duplicate"),
            cancel_url=reverse("surveys:detail", args=[survey.pk]),
        )

    def post(self, request, pk):
        survey = _survey(pk)
        copy = services.survey_duplicate(survey=survey, by=request.user)
        messages.success(request, _("Survey duplicated: this is the copy, “%(title)s”.") % {"title": copy.title})
        return redirect("surveys:detail", pk=copy.pk)


class SurveyPreviewView(ManagerRequiredMixin, View):
    """The survey exactly as partners see it, read-only, in the current language."""

    permission_required = "surveys.view_survey"

    def get(self, request, pk):
        survey = _survey(pk)
        rows = [{"question": question, "value": None, "errors": []} for question in selectors.survey_questions(survey)]
        return render(request, "surveys/survey_preview.html", {"survey": survey, "rows": rows})


# --- questions ------------------------------------------------------------------------------------


class QuestionFormView(ManagerRequiredMixin, View):
    """Add a question, or edit one (kind, texts per language, required, choices per language)."""

    def dispatch(self, request, *args, **kwargs):
        self.permission_required = "surveys.change_question" if kwargs.get("question_pk") else "surveys.add_question"
        return super().dispatch(request, *args, **kwargs)

    def _render(self, request, survey, builder, status=200):
        return render(request, "surveys/question_form.html", {"survey": survey, "builder": builder}, status=status)

    def get(self, request, pk, question_pk=None):
        survey = _survey(pk)
        question = _question(survey, question_pk) if question_pk else None
        return self._render(request, survey, QuestionBuilder(survey=survey, question=question))

    def post(self, request, pk, question_pk=None):
        survey = _survey(pk)
        question = _question(survey, question_pk) if question_pk else None
        builder = QuestionBuilder(survey=survey, question=question, data=request.POST)
        if builder.is_valid():
            saved = builder.save()
            messages.success(request, _("Question “%(text)s” saved.") % {"text": saved.text})
            return redirect(reverse("surveys:detail", args=[survey.pk]) + "#questions")
        return self._render(request, survey, builder, status=400)


class QuestionDeleteView(ManagerRequiredMixin, View):
    permission_required = "surveys.delete_question"

    def _refused(self, request, survey, error):
        messages.error(request, " ".join(error.messages))
        return redirect(reverse("surveys:detail", args=[survey.pk]) + "#questions")

    def get(self, request, pk, question_pk):
        survey = _survey(pk)
        question = _question(survey, question_pk)
        try:
            services.question_delete_validate(question=question)
        except ValidationError as error:
            return self._refused(request, survey, error)
        return render(request, "confirm_delete.html", {"object": question, "cancel_url": reverse("surveys:detail", args=[survey.pk])})

    def post(self, request, pk, question_pk):
        survey = _survey(pk)
        question = _question(survey, question_pk)
        text = question.text
        try:
            services.question_delete(question=question)
        except ValidationError as error:
            return self._refused(request, survey, error)
        messages.success(request, _("Question “%(text)s” deleted.") % {"text": text})
        return redirect(reverse("surveys:detail", args=[survey.pk]) + "#questions")


class QuestionMoveView(ManagerRequiredMixin, View):
    """Move a question up or down; with HTMX the question list is swapped in place."""

    permission_required = "surveys.change_question"

    def post(self, request, pk, question_pk):
        survey = _survey(pk)
        question = _question(survey, question_pk)
        form = QuestionMoveForm(request.POST)
        if form.is_valid():
            services.question_move(question=question, direction=form.cleaned_data["direction"])
        if request.htmx:
            return render(request, "surveys/_question_list.html", {"survey": survey, "questions": selectors.survey_questions(survey)})
        if not form.is_valid():
            messages.error(request, _("Choose to move the question up or down."))
        return redirect(reverse("surveys:detail", args=[survey.pk]) + "#questions")


# --- waves ----------------------------------------------------------------------------------------


class WaveCreateView(ManagerRequiredMixin, View):
    permission_required = "surveys.add_wave"

    def get(self, request, pk):
        survey = _survey(pk)
        return render(request, "surveys/wave_form.html", {"survey": survey, "form": WaveForm(survey=survey)})

    def post(self, request, pk):
        survey = _survey(pk)
        form = WaveForm(request.POST, survey=survey)
        if form.is_valid():
            if survey.is_archived:
                form.add_error(None, _("This survey is archived; unarchive it before opening a wave."))
            else:
                try:
                    wave = services.wave_create(survey=survey, by=request.user, **form.cleaned_data)
                except ValidationError as error:
                    add_service_error(form, error)
                else:
                    if wave.opens_at <= timezone.now():
                        messages.success(request, _("Wave “%(name)s” is open; the invitations are being sent.") % {"name": wave.name})
                    else:
                        messages.success(
                            request, _("Wave “%(name)s” is scheduled; invitations go out when it opens.") % {"name": wave.name}
                        )
                    return redirect(reverse("surveys:detail", args=[survey.pk]) + "#waves")
        return render(request, "surveys/wave_form.html", {"survey": survey, "form": form}, status=400)


class WaveCloseView(ManagerRequiredMixin, View):
    """Close an open wave now, or cancel a scheduled one (it never opens); the rules are `services.wave_close`'s."""

    permission_required = "surveys.change_wave"

    def get(self, request, pk, wave_pk):
        survey = _survey(pk)
        wave = _wave(survey, wave_pk)
        state = wave.state
        if state == "closed":
            messages.error(request, _("This wave is already closed."))
            return redirect(reverse("surveys:detail", args=[survey.pk]) + "#waves")
        if state == "scheduled":
            title = _("Cancel this scheduled wave?")
            message = _(
                "Wave “%(name)s” was to open on %(date)s. Cancelled, it never opens: nobody is invited and it is listed as closed."
            ) % {"name": wave.name, "date": timezone.localtime(wave.opens_at).strftime("%Y-%m-%d %H:%M")}
            button = _("Yes, cancel the wave")
        else:
            title = _("Close this wave now?")
            message = _(
                "Wave “%(name)s” closes now instead of on %(date)s: answers are no longer accepted and no more reminders are sent."
            ) % {"name": wave.name, "date": timezone.localtime(wave.closes_at).strftime("%Y-%m-%d %H:%M")}
            button = _("Yes, close now")
        return confirm(
            request, title=title, message=message, button=button, cancel_url=reverse("surveys:detail", args=[survey.pk]), danger=True
        )

    def post(self, request, pk, wave_pk):
        survey = _survey(pk)
        wave = _wave(survey, wave_pk)
        was_scheduled = wave.state == "scheduled"
        try:
            services.wave_close(wave=wave, by=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            if was_scheduled:
                messages.success(request, _("Wave “%(name)s” is cancelled; it never opens.") % {"name": wave.name})
            else:
                messages.success(request, _("Wave “%(name)s” is closed.") % {"name": wave.name})
        return redirect(reverse("surveys:detail", args=[survey.pk]) + "#waves")


# --- results --------------------------------------------------------------------------------------


def _chart_data(results, trend):
    """What survey-charts.js draws: one bar chart per answered scale or choice question, and the NPS trend."""
    charts = []
    for result in results.questions:
        if result.hidden or not result.distribution or not result.count:
            continue
        charts.append(
            {
                "canvas": f"chart-q{result.question.pk}",
                "type": "bar",
                "horizontal": result.question.has_choices,
                "label": _("Answers"),
                "labels": [str(label) for label, _count in result.distribution],
                "values": [count for _label, count in result.distribution],
            }
        )
    if trend:
        charts.append(
            {
                "canvas": "chart-trend",
                "type": "line",
                "label": _("NPS"),
                "labels": [wave.name for wave, _figures in trend],
                "values": [figures.rounded if figures is not None else None for _wave, figures in trend],
                "min": -100,
                "max": 100,
            }
        )
    return {"charts": charts}


class WaveResultsView(ManagerRequiredMixin, View):
    permission_required = "surveys.view_response"

    def get(self, request, pk, wave_pk):
        survey = _survey(pk)
        wave = _wave(survey, wave_pk)
        filter_form = ResultsFilterForm(request.GET or None)
        group = filter_form.group() if filter_form.is_bound else None
        results = selectors.wave_results(wave=wave, group=group)
        for result in results.questions:
            if result.nps is not None:
                result.shares = {part: result.nps.share(getattr(result.nps, part)) for part in ("promoters", "passives", "detractors")}
        total = results.answered if group is None else selectors.wave_response_count(wave=wave)
        has_nps = any(result.question.kind == QuestionKind.NPS for result in results.questions)
        breakdowns, trend = [], []
        if has_nps:
            type_labels = dict(PartnerType.choices)
            for by in ("tier", "type", "territory"):
                rows = selectors.nps_breakdown(wave=wave, by=by)
                if by == "type":
                    rows = [(type_labels.get(label, label), figures) for label, figures in rows]
                breakdowns.append({"by": by, "label": BREAKDOWN_LABELS[by], "rows": rows})
            trend = selectors.nps_trend(survey=survey)
        context = {
            "survey": survey,
            "wave": wave,
            "state": selectors.wave_state(wave.opens_at, wave.closes_at, timezone.now()),
            "states": WAVE_STATES,
            "results": results,
            "group": group,
            "filter_form": filter_form,
            "breakdowns": breakdowns,
            "trend": trend,
            "can_export": not survey.is_anonymous or total >= settings.PARTNERLOOP_SURVEY_ANONYMITY_MIN,
            "chart_data": _chart_data(results, trend),
        }
        return render(request, "surveys/wave_results.html", context)


def _answer_value(answer):
    if answer is None:
        return ""
    if answer.question.kind in (QuestionKind.NPS, QuestionKind.RATING):
        return answer.number
    if answer.question.has_choices:
        return "; ".join(choice.text for choice in answer.choices.all())
    return answer.text


class WaveExportView(ManagerRequiredMixin, View):
    """The responses of a wave as CSV, one row per response and one column per question.

    Anonymous surveys export the answers only: no person, company, tier, type, territory or date
    (a rare combination of those, or the only answer sent on a day next to the invitations'
    answered-at times, would point at who answered). Rows are sorted on the random respondent key,
    so their order says nothing either, and nothing is exported below five answers (as the results page).
    """

    permission_required = "surveys.view_response"

    def get(self, request, pk, wave_pk):
        survey = _survey(pk)
        wave = _wave(survey, wave_pk)
        anonymous = survey.is_anonymous
        if anonymous and selectors.wave_response_count(wave=wave) < settings.PARTNERLOOP_SURVEY_ANONYMITY_MIN:
            messages.error(request, _("Results are shown from five answers on; this anonymous wave has fewer, so nothing is exported."))
            return redirect("surveys:wave_results", pk=survey.pk, wave_pk=wave.pk)
        questions, responses = selectors.wave_export(wave=wave)

        filename = f"{slugify(survey.title)[:50] or 'survey'}-{slugify(wave.name)[:30] or wave.pk}-responses.csv"
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        writer = csv.writer(response)
        header = [_("Wave")]
        if not anonymous:
            header += [_("Submitted"), _("Partner"), _("Tier"), _("Partner type"), _("Territory"), _("E-mail")]
        header += [question.text for question in questions]
        writer.writerow([safe_cell(cell) for cell in header])
        for row in responses.iterator(chunk_size=500):
            cells = [wave.name]
            if not anonymous:
                partner = row.partner
                cells += [
                    timezone.localtime(row.submitted_at).strftime("%Y-%m-%d %H:%M"),
                    partner.name,
                    partner.tier.name if partner.tier else "",
                    partner.get_partner_type_display(),
                    partner.territory.name if partner.territory else "",
                    row.user.email if row.user else "",
                ]
            answers_by_question = {answer.question_id: answer for answer in row.answers.all()}
            cells += [_answer_value(answers_by_question.get(question.pk)) for question in questions]
            writer.writerow([safe_cell(cell) for cell in cells])
        return response


# --- ideas ----------------------------------------------------------------------------------------


class IdeaListView(ManagerRequiredMixin, View):
    permission_required = "surveys.view_idea"

    def get(self, request):
        filter_form = IdeaFilterForm(request.GET)
        context = {
            "filter_form": filter_form,
            "page_obj": paginate(request, selectors.idea_list(filters=filter_form.filters())),
            "querystring": querystring_without_page(request),
            "counts": selectors.idea_board_counts(),
            "oldest": selectors.oldest_unanswered_ideas(limit=5),
        }
        return render(request, "surveys/idea_list.html", context)


def _idea(pk):
    return get_object_or_404(Idea.objects.select_related("partner", "author", "merged_into"), pk=pk)


def _idea_page(request, idea, *, reply_form=None, status_form=None, status=200):
    context = {
        "idea": idea,
        "events": idea.events.select_related("author"),
        "duplicates": idea.duplicates.select_related("partner"),
        "reply_form": reply_form or IdeaReplyForm(),
        "status_form": status_form or IdeaStatusForm(initial={"status": idea.status}),
    }
    return render(request, "surveys/idea_detail.html", context, status=status)


class IdeaDetailView(ManagerRequiredMixin, View):
    permission_required = "surveys.view_idea"

    def get(self, request, pk):
        return _idea_page(request, _idea(pk))


class IdeaReplyView(ManagerRequiredMixin, View):
    permission_required = "surveys.add_ideaevent"

    def post(self, request, pk):
        idea = _idea(pk)
        form = IdeaReplyForm(request.POST)
        if form.is_valid():
            try:
                services.idea_reply(idea=idea, by=request.user, body=form.cleaned_data["body"])
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, _("Reply posted; the author is notified."))
                return redirect("surveys:idea_detail", pk=idea.pk)
        return _idea_page(request, idea, reply_form=form, status=400)


class IdeaStatusView(ManagerRequiredMixin, View):
    permission_required = "surveys.change_idea"

    def post(self, request, pk):
        idea = _idea(pk)
        form = IdeaStatusForm(request.POST)
        if form.is_valid():
            try:
                services.idea_set_status(idea=idea, by=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                idea.refresh_from_db(fields=["status"])
                messages.success(
                    request, _("Status changed to “%(status)s”; the author is notified.") % {"status": idea.get_status_display()}
                )
                return redirect("surveys:idea_detail", pk=idea.pk)
        return _idea_page(request, idea, status_form=form, status=400)


class IdeaMergeView(ManagerRequiredMixin, View):
    """Merge an idea into another (found by #id or title); the page itself is the confirmation step."""

    permission_required = "surveys.change_idea"

    def _render(self, request, idea, form, status=200):
        q = request.GET.get("q", "")
        candidates = selectors.idea_search(merge_candidates(idea).order_by("-created_at", "-id"), q)
        context = {
            "idea": idea,
            "form": form,
            "q": q,
            "page_obj": paginate(request, candidates, per_page=20),
            "querystring": querystring_without_page(request),
        }
        return render(request, "surveys/idea_merge.html", context, status=status)

    def get(self, request, pk):
        idea = _idea(pk)
        return self._render(request, idea, IdeaMergeForm(idea=idea))

    def post(self, request, pk):
        idea = _idea(pk)
        form = IdeaMergeForm(request.POST, idea=idea)
        if form.is_valid():
            into = form.cleaned_data["into"]
            try:
                services.idea_merge(idea=idea, into=into, by=request.user)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(
                    request,
                    _("“%(idea)s” was merged into “%(into)s” and follows its status; the author is notified.")
                    % {"idea": idea.title, "into": into.title},
                )
                return redirect("surveys:idea_detail", pk=into.pk)
        return self._render(request, idea, form, status=400)
