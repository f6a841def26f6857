"""Reads of the feedback loop: survey results, NPS, breakdowns, trends, partner satisfaction."""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Avg, Count, Exists, F, IntegerField, OuterRef, Prefetch, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import Answer, Idea, IdeaStatus, Invitation, NpsFigures, QuestionKind, Response, Survey, Wave, nps_aggregates

__all__ = ["NpsFigures"]  # re-exported: callers read the figures with the selectors


def nps_from_scores(scores):
    return NpsFigures.from_scores(scores)


def nps_from_queryset(answers):
    """NPS of an Answer queryset in one aggregate query."""
    return answers.nps_counts()


@dataclass
class QuestionResult:
    question: object
    count: int = 0
    average: Decimal | None = None
    nps: NpsFigures | None = None
    distribution: list = field(default_factory=list)  # [(label, count)]
    texts: list = field(default_factory=list)
    hidden: bool = False


@dataclass
class WaveResults:
    wave: object
    invited: int
    answered: int
    questions: list
    hidden: bool

    @property
    def response_rate(self):
        return None if not self.invited else round(100 * self.answered / self.invited, 1)


def _responses(wave, group):
    responses = Response.objects.filter(wave=wave)
    if group:
        responses = responses.filter(**{f"partner__{key}": value for key, value in group.items()})
    return responses


def wave_results(*, wave: Wave, group=None) -> WaveResults:
    """Results of a wave, optionally for one group of partners ({"tier_id": 3}, {"partner_type": "msp"}).

    Anonymous surveys show results only for groups of at least five answers: nothing for a group
    with fewer than five responses, nothing for a group whose complement in the wave has one to four
    (the whole wave's figures minus the group's would show theirs), and no figures for a question
    answered fewer than five times.
    """
    survey = wave.survey
    responses = _responses(wave, group)
    answered = responses.count()
    invitations = Invitation.objects.filter(wave=wave)
    if group:
        invitations = invitations.filter(**{f"partner__{key}": value for key, value in group.items()})
    invited = invitations.values("partner_id").distinct().count() if survey.one_response_per_partner else invitations.count()
    hidden = survey.is_anonymous and answered < settings.PARTNERLOOP_SURVEY_ANONYMITY_MIN
    if survey.is_anonymous and group and not hidden:
        rest = Response.objects.filter(wave=wave).count() - answered
        hidden = 0 < rest < settings.PARTNERLOOP_SURVEY_ANONYMITY_MIN
    questions = list(survey.questions.prefetch_related("choices"))
    results = []
    answers = Answer.objects.filter(response__in=responses)
    numeric = {
        row["question_id"]: row
        for row in answers.filter(number__isnull=False).values("question_id").annotate(n=Count("id"), avg=Avg("number"))
    }
    value_counts = {}
    for row in answers.filter(number__isnull=False).values("question_id", "number").annotate(n=Count("id")):
        value_counts.setdefault(row["question_id"], {})[row["number"]] = row["n"]
    choice_counts = {row["choices"]: row["n"] for row in answers.filter(choices__isnull=False).values("choices").annotate(n=Count("id"))}
    choice_answers = dict(
        answers.filter(question__kind__in=[QuestionKind.SINGLE, QuestionKind.MULTIPLE])
        .values("question_id")
        .annotate(n=Count("id"))
        .values_list("question_id", "n")
    )
    texts = {}
    if not hidden:
        # Anonymous texts in the order of their random key: the order of submission would help tell who wrote what.
        order = "response__respondent_key" if survey.is_anonymous else "-response__submitted_at"
        for question_id, text in answers.exclude(text="").order_by(order).values_list("question_id", "text"):
            texts.setdefault(question_id, []).append(text)
    text_counts = dict(answers.exclude(text="").values("question_id").annotate(n=Count("id")).values_list("question_id", "n"))
    for question in questions:
        if question.kind in (QuestionKind.NPS, QuestionKind.RATING):
            row = numeric.get(question.pk)
            count = row["n"] if row else 0
        elif question.has_choices:
            count = choice_answers.get(question.pk, 0)
        else:
            count = text_counts.get(question.pk, 0)
        question_hidden = hidden or (survey.is_anonymous and count < settings.PARTNERLOOP_SURVEY_ANONYMITY_MIN)
        result = QuestionResult(question=question, count=count, hidden=question_hidden)
        if question_hidden:
            results.append(result)
            continue
        if question.kind in (QuestionKind.NPS, QuestionKind.RATING):
            counts = value_counts.get(question.pk, {})
            result.average = Decimal(str(row["avg"])).quantize(Decimal("0.01")) if row else None
            result.distribution = [(value, counts.get(value, 0)) for value in question.scale]
            if question.kind == QuestionKind.NPS:
                result.nps = nps_from_scores([value for value, n in counts.items() for _ in range(n)])
        elif question.has_choices:
            result.distribution = [(choice.text, choice_counts.get(choice.pk, 0)) for choice in question.choices.all()]
        else:
            result.texts = texts.get(question.pk, [])
        results.append(result)
    return WaveResults(wave=wave, invited=invited, answered=answered, questions=results, hidden=hidden)


def suppress_small_groups(rows):
    """Hide the groups of an anonymous breakdown that have fewer than five answers, and enough others with them.

    `rows` is [(label, NpsFigures)] covering every answer of the wave. Hiding only the small groups
    is not enough: the wave's total minus the groups shown would give the hidden ones away. So while
    the hidden groups hold one to four answers between them, the smallest group still shown is
    hidden too. Returns [(label, NpsFigures or None)] in the same order.
    """
    minimum = settings.PARTNERLOOP_SURVEY_ANONYMITY_MIN
    hidden = {index for index, (_label, figures) in enumerate(rows) if figures.count < minimum}
    shown = sorted((index for index in range(len(rows)) if index not in hidden), key=lambda index: (rows[index][1].count, index))
    while shown and 0 < sum(rows[index][1].count for index in hidden) < minimum:
        hidden.add(shown.pop(0))
    return [(label, None if index in hidden else figures) for index, (label, figures) in enumerate(rows)]


BREAKDOWNS = {
    "tier": ("partner__tier__name", "partner__tier_id"),
    "type": ("partner__partner_type", None),
    "territory": ("partner__territory__name", None),
}


def nps_breakdown(*, wave: Wave, by: str):
    """NPS of a wave's NPS answers per tier, partner type or territory: [(label, NpsFigures|None)].

    For an anonymous survey, groups with fewer than five answers show None (hidden), and so do the
    groups hidden with them so the small ones cannot be worked out (`suppress_small_groups`).
    """
    label_field, _id_field = BREAKDOWNS[by]
    answers = Answer.objects.filter(response__wave=wave, question__kind=QuestionKind.NPS, number__isnull=False)
    rows = answers.nps_by(label=F(f"response__{label_field}"))
    result = [(row["label"] or "—", NpsFigures.from_row(row)) for row in rows.order_by("label")]
    return suppress_small_groups(result) if wave.survey.is_anonymous else result


def nps_trend(*, survey):
    """NPS per wave of a survey, oldest first: [(wave, NpsFigures)] in one query."""
    waves = list(survey.waves.order_by("opens_at"))
    answers = Answer.objects.filter(response__wave__survey=survey, question__kind=QuestionKind.NPS, number__isnull=False)
    rows = {row["response__wave_id"]: row for row in answers.nps_by("response__wave_id")}
    trend = []
    for wave in waves:
        row = rows.get(wave.pk)
        figures = NpsFigures.from_row(row) if row else NpsFigures(0, 0, 0, 0)
        if survey.is_anonymous and figures.count < settings.PARTNERLOOP_SURVEY_ANONYMITY_MIN:
            figures = None
        trend.append((wave, figures))
    return trend


def partner_satisfaction(*, partner_ids=None, since=None, as_of=None, months=12):
    """Partner-level satisfaction for the loyalty score: {partner_id: figures}, in one query.

    The window is [since, as_of): `as_of` defaults to now, `since` to `months` before it. Figures
    per partner: "responses" (those with at least one answer), "nps" (Decimal, -100..100, None
    without NPS answers), "nps_answers", "nps_average", "avg_rating" (mean of the 1-5 ratings,
    None without any) and "rating_answers". A partner without responses is absent (the component
    is missing, not zero); `partner_ids` limits the result to those partners.

    Anonymous surveys do not count. Their responses do keep the partner (for the results'
    breakdowns), but a partner-level figure would be a group of one company, often of one person,
    and a daily loyalty snapshot that moves when one anonymous answer arrives, read next to the
    invitation's answered-at time, would trace that answer to its author.
    """
    as_of = as_of or timezone.now()
    since = since if since is not None else as_of - timedelta(days=round(months * 30.44))
    answers = Answer.objects.filter(
        response__submitted_at__gte=since,
        response__submitted_at__lt=as_of,
        response__wave__survey__is_anonymous=False,
    )
    if partner_ids is not None:
        answers = answers.filter(response__partner_id__in=list(partner_ids))
    nps = Q(question__kind=QuestionKind.NPS, number__isnull=False)
    rating = Q(question__kind=QuestionKind.RATING, number__isnull=False)
    rows = (
        answers.values("response__partner_id")
        .annotate(
            responses=Count("response_id", distinct=True),
            **nps_aggregates(count="nps_count", within=nps),
            nps_average=Avg("number", filter=nps),
            rating_count=Count("id", filter=rating),
            rating_average=Avg("number", filter=rating),
        )
        .order_by()
    )
    figures = {}
    for row in rows:
        figures[row["response__partner_id"]] = {
            "responses": row["responses"],
            "nps": NpsFigures.from_row(row, count="nps_count").score,
            "nps_answers": row["nps_count"],
            "nps_average": row["nps_average"],
            "avg_rating": row["rating_average"],
            "rating_answers": row["rating_count"],
        }
    return figures


def invitations_for(*, partner, user, now=None):
    """The portal's survey list for one user: open and recent waves they are invited to."""
    now = now or timezone.now()
    company_answered = Response.objects.filter(wave=OuterRef("wave_id"), respondent_key=f"partner:{partner.pk}")
    return (
        Invitation.objects.for_partner(partner)
        .filter(user=user, wave__opens_at__lte=now)
        .select_related("wave__survey")
        .annotate(company_answered=Exists(company_answered))
        .order_by("-wave__opens_at")
    )


def idea_board_counts():
    """Managers' triage figures: count per status, and how old the open ones are."""
    now = timezone.now()
    counts = dict(Idea.objects.filter(merged_into__isnull=True).values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    open_ideas = Idea.objects.filter(merged_into__isnull=True).open()
    ages = open_ideas.aggregate(
        week=Count("id", filter=Q(created_at__gte=now - timedelta(days=7))),
        month=Count("id", filter=Q(created_at__lt=now - timedelta(days=7), created_at__gte=now - timedelta(days=30))),
        older=Count("id", filter=Q(created_at__lt=now - timedelta(days=30))),
    )
    return {"by_status": [(status, label, counts.get(status, 0)) for status, label in IdeaStatus.choices], "ages": ages}


def oldest_unanswered_ideas(limit=10):
    return (
        Idea.objects.filter(merged_into__isnull=True, first_answered_at__isnull=True)
        .open()
        .select_related("partner", "author")
        .order_by("created_at")[:limit]
    )


# --- the managers' pages ---------------------------------------------------------------------------

SURVEYS_ACTIVE, SURVEYS_ARCHIVED, SURVEYS_ALL = "", "archived", "all"


def wave_state(opens_at, closes_at, now):
    """The state of a wave at `now`: "scheduled", "open" or "closed"."""
    if now < opens_at:
        return "scheduled"
    return "open" if now < closes_at else "closed"


def nps_per_wave(answers):
    """{wave id: NpsFigures} of the NPS answers in `answers`, in one aggregate query."""
    rows = answers.filter(question__kind=QuestionKind.NPS, number__isnull=False).nps_by("response__wave_id").order_by()
    return {row["response__wave_id"]: NpsFigures.from_row(row) for row in rows}


def survey_list(*, q="", archived=""):
    """Surveys with their wave count and latest wave (name, dates) annotated, newest first."""
    latest = Wave.objects.filter(survey=OuterRef("pk")).order_by("-opens_at", "-id")
    surveys = Survey.objects.annotate(
        wave_count=Count("waves"),
        latest_wave_id=Subquery(latest.values("pk")[:1]),
        latest_wave_name=Subquery(latest.values("name")[:1]),
        latest_opens_at=Subquery(latest.values("opens_at")[:1]),
        latest_closes_at=Subquery(latest.values("closes_at")[:1]),
    ).prefetch_related("tiers", "territories")
    if archived == SURVEYS_ACTIVE:
        surveys = surveys.filter(is_archived=False)
    elif archived == SURVEYS_ARCHIVED:
        surveys = surveys.filter(is_archived=True)
    if q:
        surveys = surveys.filter(Q(title_en__icontains=q) | Q(title_nl__icontains=q) | Q(title_de__icontains=q))
    return surveys.order_by("-created_at", "-id")


def attach_latest_results(surveys):
    """Set `latest_state` and `latest_nps` (None when hidden or without answers) on a page of surveys: one query."""
    now = timezone.now()
    figures = nps_per_wave(Answer.objects.filter(response__wave_id__in=[s.latest_wave_id for s in surveys if s.latest_wave_id]))
    for survey in surveys:
        survey.latest_state = wave_state(survey.latest_opens_at, survey.latest_closes_at, now) if survey.latest_wave_id else None
        nps = figures.get(survey.latest_wave_id)
        survey.latest_nps_hidden = bool(nps and survey.is_anonymous and nps.count < settings.PARTNERLOOP_SURVEY_ANONYMITY_MIN)
        survey.latest_nps = None if survey.latest_nps_hidden else nps
    return surveys


def survey_questions(survey):
    """The survey's questions with their choices, in order."""
    return list(survey.questions.prefetch_related("choices"))


def waves_with_counts(survey):
    """The survey's waves with `invited` (people, or companies for one answer per company) and `answered`."""
    invitations = Invitation.objects.filter(wave=OuterRef("pk")).order_by().values("wave")
    invited = invitations.annotate(n=Count("partner_id", distinct=True) if survey.one_response_per_partner else Count("pk")).values("n")
    answered = Response.objects.filter(wave=OuterRef("pk")).order_by().values("wave").annotate(n=Count("pk")).values("n")
    return survey.waves.annotate(
        invited=Coalesce(Subquery(invited, output_field=IntegerField()), 0),
        answered=Coalesce(Subquery(answered, output_field=IntegerField()), 0),
    ).order_by("-opens_at", "-id")


def attach_wave_figures(waves):
    now = timezone.now()
    for wave in waves:
        wave.current_state = wave_state(wave.opens_at, wave.closes_at, now)
        wave.response_rate = round(100 * wave.answered / wave.invited, 1) if wave.invited else None
    return waves


def wave_response_count(*, wave):
    return Response.objects.filter(wave=wave).count()


def wave_export(*, wave):
    """(questions, responses) of a wave's CSV export, the responses with their answers prefetched.

    Anonymous surveys: the responses alone, in the order of their random key; named ones with
    partner, tier, territory and user, in the order of submission.
    """
    questions = list(wave.survey.questions.all())
    answers = Prefetch("answers", queryset=Answer.objects.select_related("question").prefetch_related("choices"))
    responses = Response.objects.filter(wave=wave)
    if wave.survey.is_anonymous:
        responses = responses.prefetch_related(answers).order_by("respondent_key")
    else:
        responses = (
            responses.select_related("partner__tier", "partner__territory", "user").prefetch_related(answers).order_by("submitted_at", "pk")
        )
    return questions, responses


def idea_list(*, filters):
    ideas = Idea.objects.select_related("partner", "author", "merged_into").order_by("-created_at", "-id")
    if not filters.get("merged"):
        ideas = ideas.filter(merged_into__isnull=True)
    for name in ("status", "kind", "partner"):
        if filters.get(name):
            ideas = ideas.filter(**{name: filters[name]})
    q = filters.get("q", "").strip()
    if q:
        condition = Q(title__icontains=q) | Q(body__icontains=q) | Q(partner__name__icontains=q)
        if q.lstrip("#").isdigit() and len(q) < 10:
            condition |= Q(pk=int(q.lstrip("#")))
        ideas = ideas.filter(condition)
    return ideas


def idea_search(ideas, q):
    """`ideas` whose title holds `q`, or the one numbered `q` ("#12")."""
    q = q.strip()
    if not q:
        return ideas
    condition = Q(title__icontains=q)
    if q.lstrip("#").isdigit() and len(q) < 10:
        condition |= Q(pk=int(q.lstrip("#")))
    return ideas.filter(condition)
