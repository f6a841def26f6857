"""Reads of the feedback loop: survey results, NPS, breakdowns, trends, partner satisfaction."""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Avg, Count, Exists, F, OuterRef, Q
from django.utils import timezone

from .models import Answer, Idea, IdeaStatus, Invitation, QuestionKind, Response, Wave

ANONYMITY_THRESHOLD = 5


@dataclass
class NpsFigures:
    count: int
    promoters: int
    passives: int
    detractors: int

    @property
    def score(self):
        """NPS = % promoters (9-10) - % detractors (0-6), from -100 to 100, None without answers."""
        if not self.count:
            return None
        return Decimal(100 * (self.promoters - self.detractors)) / Decimal(self.count)

    @property
    def rounded(self):
        score = self.score
        return None if score is None else int(score.quantize(Decimal("1"), rounding=ROUND_HALF_UP))

    def share(self, part):
        return None if not self.count else round(100 * part / self.count, 1)


def nps_from_scores(scores):
    scores = list(scores)
    return NpsFigures(
        count=len(scores),
        promoters=sum(1 for s in scores if s >= 9),
        passives=sum(1 for s in scores if 7 <= s <= 8),
        detractors=sum(1 for s in scores if s <= 6),
    )


def nps_from_queryset(answers):
    """NPS of an Answer queryset in one aggregate query."""
    totals = answers.aggregate(
        count=Count("id"),
        promoters=Count("id", filter=Q(number__gte=9)),
        passives=Count("id", filter=Q(number__gte=7, number__lte=8)),
        detractors=Count("id", filter=Q(number__lte=6)),
    )
    return NpsFigures(**totals)


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

    Anonymous surveys show nothing for a group with fewer than five answers.
    """
    survey = wave.survey
    responses = _responses(wave, group)
    answered = responses.count()
    invitations = Invitation.objects.filter(wave=wave)
    if group:
        invitations = invitations.filter(**{f"partner__{key}": value for key, value in group.items()})
    invited = invitations.values("partner_id").distinct().count() if survey.one_response_per_partner else invitations.count()
    hidden = survey.is_anonymous and answered < ANONYMITY_THRESHOLD
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
    texts = {}
    if not hidden:
        for question_id, text in answers.exclude(text="").order_by("-response__submitted_at").values_list("question_id", "text"):
            texts.setdefault(question_id, []).append(text)
    text_counts = dict(answers.exclude(text="").values("question_id").annotate(n=Count("id")).values_list("question_id", "n"))
    for question in questions:
        result = QuestionResult(question=question, hidden=hidden)
        if question.kind in (QuestionKind.NPS, QuestionKind.RATING):
            row = numeric.get(question.pk)
            counts = value_counts.get(question.pk, {})
            result.count = row["n"] if row else 0
            if not hidden:
                result.average = Decimal(str(row["avg"])).quantize(Decimal("0.01")) if row else None
                result.distribution = [(value, counts.get(value, 0)) for value in question.scale]
                if question.kind == QuestionKind.NPS:
                    scores = [value for value, n in counts.items() for _ in range(n)]
                    result.nps = nps_from_scores(scores)
        elif question.has_choices:
            result.distribution = [(choice.text, choice_counts.get(choice.pk, 0)) for choice in question.choices.all()]
            result.count = answers.filter(question=question).count() if not hidden else 0
            if hidden:
                result.distribution = []
        else:
            result.count = text_counts.get(question.pk, 0)
            result.texts = texts.get(question.pk, [])
        results.append(result)
    return WaveResults(wave=wave, invited=invited, answered=answered, questions=results, hidden=hidden)


BREAKDOWNS = {
    "tier": ("partner__tier__name", "partner__tier_id"),
    "type": ("partner__partner_type", None),
    "territory": ("partner__territory__name", None),
}


def nps_breakdown(*, wave: Wave, by: str):
    """NPS of a wave's NPS answers per tier, partner type or territory: [(label, NpsFigures|None)].

    A group of an anonymous survey with fewer than five answers shows None (hidden).
    """
    label_field, _id_field = BREAKDOWNS[by]
    answers = Answer.objects.filter(response__wave=wave, question__kind=QuestionKind.NPS, number__isnull=False)
    rows = answers.values(label=F(f"response__{label_field}")).annotate(
        count=Count("id"),
        promoters=Count("id", filter=Q(number__gte=9)),
        passives=Count("id", filter=Q(number__gte=7, number__lte=8)),
        detractors=Count("id", filter=Q(number__lte=6)),
    )
    anonymous = wave.survey.is_anonymous
    result = []
    for row in rows.order_by("label"):
        figures = NpsFigures(row["count"], row["promoters"], row["passives"], row["detractors"])
        result.append((row["label"] or "—", None if anonymous and figures.count < ANONYMITY_THRESHOLD else figures))
    return result


def nps_trend(*, survey):
    """NPS per wave of a survey, oldest first: [(wave, NpsFigures)] in one query."""
    waves = list(survey.waves.order_by("opens_at"))
    rows = {
        row["response__wave_id"]: row
        for row in Answer.objects.filter(response__wave__survey=survey, question__kind=QuestionKind.NPS, number__isnull=False)
        .values("response__wave_id")
        .annotate(
            count=Count("id"),
            promoters=Count("id", filter=Q(number__gte=9)),
            passives=Count("id", filter=Q(number__gte=7, number__lte=8)),
            detractors=Count("id", filter=Q(number__lte=6)),
        )
    }
    trend = []
    for wave in waves:
        row = rows.get(wave.pk)
        figures = NpsFigures(row["count"], row["promoters"], row["passives"], row["detractors"]) if row else NpsFigures(0, 0, 0, 0)
        if survey.is_anonymous and figures.count < ANONYMITY_THRESHOLD:
            figures = None
        trend.append((wave, figures))
    return trend


def partner_satisfaction(*, as_of=None, months=12):
    """Partner-level satisfaction for the loyalty score: {partner_id: {...}} over the last `months`.

    Only named (non-anonymous) surveys count: a per-partner figure from an anonymous survey would
    reveal a small company's answers. A partner without answers is absent from the result (the
    component is missing, not zero).
    """
    as_of = as_of or timezone.now()
    since = as_of - timedelta(days=round(months * 30.44))
    answers = Answer.objects.filter(
        response__submitted_at__gte=since,
        response__submitted_at__lt=as_of,
        response__wave__survey__is_anonymous=False,
        number__isnull=False,
    )
    figures = {}
    rows = answers.values("response__partner_id").annotate(
        nps_count=Count("id", filter=Q(question__kind=QuestionKind.NPS)),
        nps_average=Avg("number", filter=Q(question__kind=QuestionKind.NPS)),
        promoters=Count("id", filter=Q(question__kind=QuestionKind.NPS, number__gte=9)),
        detractors=Count("id", filter=Q(question__kind=QuestionKind.NPS, number__lte=6)),
        rating_count=Count("id", filter=Q(question__kind=QuestionKind.RATING)),
        rating_average=Avg("number", filter=Q(question__kind=QuestionKind.RATING)),
    )
    for row in rows:
        nps = NpsFigures(row["nps_count"], row["promoters"], row["nps_count"] - row["promoters"] - row["detractors"], row["detractors"])
        figures[row["response__partner_id"]] = {
            "nps_answers": row["nps_count"],
            "nps_average": row["nps_average"],
            "nps": nps.score,
            "rating_answers": row["rating_count"],
            "rating_average": row["rating_average"],
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
