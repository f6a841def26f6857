"""The partner side of the feedback loop: answering surveys and the company's ideas board.

As everywhere in the portal, the partner comes from the signed-in user (`request.partner`), and
every lookup goes through `for_partner(self.partner)`: another partner's invitation or idea, or a
colleague's invitation, answers 404 exactly like one that does not exist.
"""

import re

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django_htmx.http import HttpResponseClientRefresh

from core.web import add_service_error, error_dict
from surveys import selectors, services
from surveys.models import Idea, IdeaKind, IdeaStatus, QuestionKind

from .views import PartnerUserRequiredMixin

# --- surveys -------------------------------------------------------------------------------------

OPEN, ANSWERED, COMPANY_ANSWERED, CLOSED = "open", "answered", "company_answered", "closed"

QUESTION_FIELD = re.compile(r"q(\d+)")


def invitation_state(invitation):
    """Where the user stands with one invitation (annotated with `company_answered` by the selector)."""
    if invitation.responded_at:
        return ANSWERED
    if invitation.wave.survey.one_response_per_partner and invitation.company_answered:
        return COMPANY_ANSWERED
    return OPEN if invitation.wave.is_open() else CLOSED


def refusal_message(state):
    return {
        ANSWERED: _("You have already answered this survey; answers cannot be changed."),
        COMPANY_ANSWERED: _("A colleague has already answered this survey for your company."),
        CLOSED: _("This survey is closed; answers can no longer be changed or sent."),
    }.get(state, "")


def answers_from_post(post, questions):
    """{question id (str): value} from the posted `q<id>` fields: a list for multiple choice.

    Fields for ids that are not questions of this survey are kept, so that the service reports
    them instead of silently dropping them.
    """
    data = {}
    for key in post:
        match = QUESTION_FIELD.fullmatch(key)
        if match is None:
            continue
        question_id = match.group(1)
        question = questions.get(question_id)
        if question is not None and question.kind == QuestionKind.MULTIPLE:
            data[question_id] = [value.strip() for value in post.getlist(key) if value.strip()]
        else:
            data[question_id] = post.get(key, "").strip()
    return data


def _as_form_value(value):
    """Saved answers shown back in the inputs as the browser posts them: strings, lists of strings."""
    if value is None:
        return None
    if isinstance(value, list):
        return [str(item) for item in value]
    return str(value)


class SurveyListView(PartnerUserRequiredMixin, View):
    def get(self, request):
        current, past = [], []
        for invitation in selectors.invitations_for(partner=self.partner, user=request.user):
            invitation.state = invitation_state(invitation)
            (current if invitation.state == OPEN else past).append(invitation)
        current.sort(key=lambda invitation: invitation.wave.closes_at)
        return render(request, "portal/surveys/survey_list.html", {"current": current, "past": past})


class SurveyAnswerView(PartnerUserRequiredMixin, View):
    """Answer one invitation: save answers for later, or send them once."""

    def _invitation(self, invitation_id):
        # Scoped to the partner *and* to the signed-in user: a colleague's invitation is a 404 too.
        invitations = selectors.invitations_for(partner=self.partner, user=self.request.user)
        invitation = get_object_or_404(invitations, pk=invitation_id)
        invitation.state = invitation_state(invitation)
        return invitation

    def _render(self, invitation, *, values=None, errors=None, notice="", status=200):
        survey = invitation.wave.survey
        values = invitation.draft if values is None else values
        errors = errors or {}
        rows = [
            {
                "question": question,
                "value": _as_form_value(values.get(str(question.pk))),
                "errors": errors.get(f"q{question.pk}", []),
            }
            for question in survey.questions.prefetch_related("choices")
        ]
        context = {
            "invitation": invitation,
            "wave": invitation.wave,
            "survey": survey,
            "rows": rows,
            "form_errors": errors.get("__all__", []),
            "has_errors": bool(errors),
            "read_only": invitation.state != OPEN,
            "notice": notice,
        }
        template = "portal/surveys/_answer_form.html" if self.request.htmx else "portal/surveys/survey_answer.html"
        return render(self.request, template, context, status=status)

    def get(self, request, invitation_id):
        return self._render(self._invitation(invitation_id))

    def post(self, request, invitation_id):
        invitation = self._invitation(invitation_id)
        if invitation.state != OPEN:
            if request.htmx:
                # The page in the browser is stale (closed or answered meanwhile): reload it to show why.
                messages.error(request, refusal_message(invitation.state))
                return HttpResponseClientRefresh()
            return self._render(invitation, errors={"__all__": [refusal_message(invitation.state)]}, status=400)
        submit = request.POST.get("action") == "submit"
        data = answers_from_post(request.POST, {str(question.pk): question for question in invitation.wave.survey.questions.all()})
        try:
            if submit:
                services.response_submit(invitation=invitation, data=data)
            else:
                saved = services.draft_save(invitation=invitation, data=data)
        except ValidationError as error:
            # Refused by the service (bad answers, or closed/answered in the meantime): nothing was saved.
            return self._render(invitation, values=data, errors=error_dict(error), status=400)
        if submit:
            messages.success(request, _("Thank you! Your answers have been sent."))
            return redirect("portal:survey_answer", invitation_id=invitation.pk)
        if request.htmx:
            return self._render(invitation, values=saved.draft, notice=_("Your answers are saved. You can come back and finish later."))
        messages.success(request, _("Your answers are saved. You can come back and finish later."))
        return redirect("portal:survey_answer", invitation_id=invitation.pk)


# --- ideas board ---------------------------------------------------------------------------------


class IdeaForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=IdeaKind.choices, initial=IdeaKind.IDEA)
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    body = forms.CharField(
        label=gettext_lazy("Description"),
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy("What would help you, what worries you, or what you would like to know."),
    )


class IdeaCommentForm(forms.Form):
    body = forms.CharField(label=gettext_lazy("Add a comment"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))


class IdeaListView(PartnerUserRequiredMixin, View):
    """The company's own ideas, concerns and questions, with a form to post a new one."""

    def _render(self, request, form, status=200):
        ideas = Idea.objects.for_partner(self.partner).select_related("author")
        status_filter = request.GET.get("status", "")
        if status_filter not in IdeaStatus.values:
            status_filter = ""
        counts = dict(Idea.objects.for_partner(self.partner).order_by().values_list("status").annotate(n=Count("id")))
        if status_filter:
            ideas = ideas.filter(status=status_filter)
        page_obj = Paginator(ideas, 25).get_page(request.GET.get("page"))
        context = {
            "page_obj": page_obj,
            "form": form,
            "status_filter": status_filter,
            "statuses": [(value, label, counts.get(value, 0)) for value, label in IdeaStatus.choices],
            "total": sum(counts.values()),
            "querystring": urlencode({"status": status_filter}) if status_filter else "",
        }
        return render(request, "portal/ideas/idea_list.html", context, status=status)

    def get(self, request):
        return self._render(request, IdeaForm())

    def post(self, request):
        form = IdeaForm(request.POST)
        if form.is_valid():
            try:
                idea = services.idea_post(partner=self.partner, author=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, _("Thank you! Your channel team will look at it and keep you posted here."))
                return redirect("portal:idea_detail", pk=idea.pk)
        return self._render(request, form, status=400)


class IdeaDetailView(PartnerUserRequiredMixin, View):
    """One idea of the company with its history; colleagues may add a comment."""

    def _idea(self, pk):
        # merged_into is joined (not looked up through the scope): it may belong to another partner,
        # and the template then shows only that it was merged, never its title.
        return get_object_or_404(Idea.objects.for_partner(self.partner).select_related("author", "merged_into"), pk=pk)

    def _render(self, request, idea, form, status=200):
        merged_into = idea.merged_into
        own_merge_target = merged_into if merged_into is not None and merged_into.partner_id == self.partner.pk else None
        context = {
            "idea": idea,
            "events": idea.events.select_related("author"),
            "merged": merged_into is not None,
            "merged_into": own_merge_target,
            "form": form,
        }
        return render(request, "portal/ideas/idea_detail.html", context, status=status)

    def get(self, request, pk):
        return self._render(request, self._idea(pk), IdeaCommentForm())

    def post(self, request, pk):
        idea = self._idea(pk)
        form = IdeaCommentForm(request.POST)
        if form.is_valid():
            try:
                services.idea_reply(idea=idea, by=request.user, body=form.cleaned_data["body"])
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, _("Your comment was added."))
                return redirect("portal:idea_detail", pk=idea.pk)
        return self._render(request, idea, form, status=400)
