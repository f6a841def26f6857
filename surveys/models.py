"""Surveys, waves, invitations, responses and the ideas board: the partner feedback loop.

Partner-owned rows (invitations, responses, ideas) use the fail-closed partner scope of
`partners.tenancy`; surveys, questions and waves are programme-wide and not scoped. Texts that
partners read (titles, intros, questions, choices) are translatable per language with
django-modeltranslation (see `translation.py`).
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import models
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.audience import AudienceMixin, AudienceQuerySet
from partners.models import Partner, PartnerOwnedQuerySet, PartnerStatus, PartnerType, Territory, Tier
from partners.tenancy import partner_scoped_manager


class QuestionKind(models.TextChoices):
    NPS = "nps", _("Net Promoter Score (0-10)")
    RATING = "rating", _("Rating (1-5)")
    SINGLE = "single", _("Single choice")
    MULTIPLE = "multiple", _("Multiple choice")
    TEXT = "text", _("Free text")


class Recurrence(models.TextChoices):
    NONE = "", _("One-off")
    MONTHLY = "monthly", _("Monthly pulse")
    QUARTERLY = "quarterly", _("Quarterly pulse")
    YEARLY = "yearly", _("Yearly")


class Survey(AudienceMixin):
    """A survey; its audience (partner types, tiers, territories) is active partners only."""

    audience_criteria = ("partner_types", "tiers", "territories")
    audience_statuses = [PartnerStatus.ACTIVE]

    objects = AudienceQuerySet.as_manager()

    title = models.CharField(_("title"), max_length=200)
    intro = models.TextField(_("introduction"), blank=True)
    partner_types = models.JSONField(_("partner types"), default=list, blank=True, help_text=_("Empty: every type."))
    tiers = models.ManyToManyField(Tier, verbose_name=_("tiers"), blank=True, help_text=_("Empty: every tier."))
    territories = models.ManyToManyField(Territory, verbose_name=_("territories"), blank=True, help_text=_("Empty: every territory."))
    one_response_per_partner = models.BooleanField(
        _("one answer per company"), default=False, help_text=_("Otherwise every portal user of an invited partner answers.")
    )
    is_anonymous = models.BooleanField(
        _("anonymous"), default=False, help_text=_("Answers cannot be traced to a person; results show only groups of five or more.")
    )
    max_reminders = models.PositiveSmallIntegerField(_("reminders at most"), default=2)
    reminder_interval_days = models.PositiveSmallIntegerField(_("days between reminders"), default=7)
    recurrence = models.CharField(_("recurrence"), max_length=10, choices=Recurrence.choices, blank=True, default=Recurrence.NONE)
    wave_length_days = models.PositiveSmallIntegerField(_("days a wave stays open"), default=21)
    is_archived = models.BooleanField(_("archived"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")

    def __str__(self):
        return self.title

    def audience_description(self):
        parts = []
        if self.partner_types:
            labels = dict(PartnerType.choices)
            parts.append(", ".join(str(labels.get(code, code)) for code in self.partner_types))
        parts.extend(str(tier) for tier in self.tiers.all())
        parts.extend(str(territory) for territory in self.territories.all())
        return " · ".join(parts) or str(_("All active partners"))


class Question(models.Model):
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions", verbose_name=_("survey"))
    kind = models.CharField(_("kind"), max_length=10, choices=QuestionKind.choices)
    text = models.CharField(_("question"), max_length=300)
    help_text = models.CharField(_("help text"), max_length=300, blank=True)
    is_required = models.BooleanField(_("required"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["survey", "position", "id"]
        verbose_name = _("question")
        verbose_name_plural = _("questions")

    def __str__(self):
        return self.text

    @property
    def has_choices(self):
        return self.kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE)

    @property
    def scale(self):
        return {QuestionKind.NPS: range(0, 11), QuestionKind.RATING: range(1, 6)}.get(self.kind)


class Choice(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices", verbose_name=_("question"))
    text = models.CharField(_("choice"), max_length=200)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["question", "position", "id"]
        verbose_name = _("choice")
        verbose_name_plural = _("choices")

    def __str__(self):
        return self.text


class WaveQuerySet(models.QuerySet):
    def open_at(self, when):
        return self.filter(opens_at__lte=when, closes_at__gt=when)


class Wave(models.Model):
    """One round of a survey: who was invited, when it opens and closes."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="waves", verbose_name=_("survey"))
    name = models.CharField(_("name"), max_length=120, help_text=_("For example: Q3 2026."))
    opens_at = models.DateTimeField(_("opens at"))
    closes_at = models.DateTimeField(_("closes at"))
    invitations_sent_at = models.DateTimeField(_("invitations sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = WaveQuerySet.as_manager()

    class Meta:
        ordering = ["-opens_at", "-id"]
        verbose_name = _("wave")
        verbose_name_plural = _("waves")
        constraints = [
            models.CheckConstraint(condition=Q(closes_at__gt=models.F("opens_at")), name="wave_closes_after_opening"),
            models.UniqueConstraint(fields=["survey", "name"], name="wave_name_unique_per_survey"),
        ]

    def __str__(self):
        return f"{self.survey} · {self.name}"

    def is_open(self, when=None):
        when = when or timezone.now()
        return self.opens_at <= when < self.closes_at

    @property
    def state(self):
        now = timezone.now()
        if now < self.opens_at:
            return "scheduled"
        return "open" if now < self.closes_at else "closed"


class Invitation(models.Model):
    """A partner user asked to answer a wave; `responded_at` is set without linking an anonymous answer."""

    wave = models.ForeignKey(Wave, on_delete=models.CASCADE, related_name="invitations", verbose_name=_("wave"))
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="survey_invitations", verbose_name=_("partner"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="survey_invitations", verbose_name=_("user"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    reminders_sent = models.PositiveSmallIntegerField(_("reminders sent"), default=0)
    last_reminded_at = models.DateTimeField(_("last reminder"), null=True, blank=True)
    responded_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    draft = models.JSONField(_("saved answers"), default=dict, blank=True, help_text=_("Answers saved before submitting."))

    objects = partner_scoped_manager(PartnerOwnedQuerySet, "partner_id")

    class Meta:
        ordering = ["wave", "partner", "user"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [models.UniqueConstraint(fields=["wave", "user"], name="one_invitation_per_user_and_wave")]
        indexes = [models.Index(fields=["wave", "partner"], name="invitation_wave_partner_idx")]

    def __str__(self):
        return f"{self.wave} → {self.user}"


class Response(models.Model):
    """One submitted set of answers to a wave (answers saved before submitting live on the invitation).

    `user` is empty for anonymous surveys: the invitation records that the person answered, the
    response does not record who. `respondent_key` makes a second submission impossible:
    "partner:<id>" for one answer per company, "user:<id>" per person, a random token when anonymous
    (the invitation, locked while submitting, guards those).
    """

    wave = models.ForeignKey(Wave, on_delete=models.CASCADE, related_name="responses", verbose_name=_("wave"))
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="survey_responses", verbose_name=_("partner"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="survey_responses", verbose_name=_("user")
    )
    respondent_key = models.CharField(max_length=40, editable=False)
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)

    objects = partner_scoped_manager(PartnerOwnedQuerySet, "partner_id")

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        constraints = [models.UniqueConstraint(fields=["wave", "respondent_key"], name="one_response_per_respondent")]
        indexes = [models.Index(fields=["wave", "submitted_at"], name="response_wave_submitted_idx")]

    def __str__(self):
        return f"{self.wave} · {self.partner}"


# --- NPS: the one counting method -----------------------------------------------------------------
# Promoters answer 9-10, passives 7-8, detractors 0-6; NPS = % promoters - % detractors (-100..100).

PROMOTER_MIN = 9
PASSIVE_MIN = 7


def nps_bucket(score):
    """The bucket of one 0-10 answer: "promoters", "passives" or "detractors"."""
    if score >= PROMOTER_MIN:
        return "promoters"
    return "passives" if score >= PASSIVE_MIN else "detractors"


def nps_score(*, count, promoters, detractors):
    """NPS = % promoters - % detractors, from -100 to 100 (a Decimal); None without answers."""
    if not count:
        return None
    return Decimal(100 * (promoters - detractors)) / Decimal(count)


def nps_conditions(field="number"):
    """{"promoters": Q, "passives": Q, "detractors": Q} on the score `field` (a path to Answer.number)."""
    return {
        "promoters": Q(**{f"{field}__gte": PROMOTER_MIN}),
        "passives": Q(**{f"{field}__gte": PASSIVE_MIN, f"{field}__lt": PROMOTER_MIN}),
        "detractors": Q(**{f"{field}__lt": PASSIVE_MIN}),
    }


def nps_aggregates(prefix="", *, count="count", within=None, field="number", counted="id"):
    """The NPS aggregate expressions, for `.aggregate()` or `.values().annotate()` of an Answer queryset.

    Keys: `count` (the name of the answers' count, "count" unless told) and `prefix` + "promoters",
    "passives", "detractors". `within` (a Q) limits every count, e.g. to the NPS questions of a
    queryset that holds other answers too.
    """
    expressions = {count: Count(counted, filter=within) if within is not None else Count(counted)}
    for name, condition in nps_conditions(field).items():
        expressions[f"{prefix}{name}"] = Count(counted, filter=(within & condition) if within is not None else condition)
    return expressions


@dataclass
class NpsFigures:
    count: int
    promoters: int
    passives: int
    detractors: int

    @classmethod
    def from_row(cls, row, prefix="", count="count"):
        """From a row of `nps_aggregates(prefix, count=count)` values."""
        return cls(row[count], row[f"{prefix}promoters"], row[f"{prefix}passives"], row[f"{prefix}detractors"])

    @classmethod
    def from_scores(cls, scores):
        counts = {"promoters": 0, "passives": 0, "detractors": 0}
        total = 0
        for score in scores:
            counts[nps_bucket(score)] += 1
            total += 1
        return cls(count=total, **counts)

    @property
    def score(self):
        """NPS = % promoters (9-10) - % detractors (0-6), from -100 to 100, None without answers."""
        return nps_score(count=self.count, promoters=self.promoters, detractors=self.detractors)

    @property
    def rounded(self):
        score = self.score
        return None if score is None else int(score.quantize(Decimal("1"), rounding=ROUND_HALF_UP))

    def share(self, part):
        return None if not self.count else round(100 * part / self.count, 1)


class AnswerQuerySet(models.QuerySet):
    def nps_counts(self) -> NpsFigures:
        """NpsFigures of these answers (their scores as they are: filter to the NPS questions first); one query."""
        return NpsFigures(**self.aggregate(**nps_aggregates()))

    def nps_by(self, *fields, **expressions):
        """NPS aggregates per group: `.values(*fields, **expressions)` rows with count, promoters, passives, detractors."""
        return self.values(*fields, **expressions).annotate(**nps_aggregates())


class Answer(models.Model):
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers", verbose_name=_("response"))
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="answers", verbose_name=_("question"))
    number = models.SmallIntegerField(_("score"), null=True, blank=True)
    choices = models.ManyToManyField(Choice, blank=True, related_name="answers", verbose_name=_("choices"))
    text = models.TextField(_("text"), blank=True)

    objects = AnswerQuerySet.as_manager()

    class Meta:
        ordering = ["question__position", "question_id"]
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints = [
            models.UniqueConstraint(fields=["response", "question"], name="one_answer_per_question"),
            models.CheckConstraint(condition=Q(number__isnull=True) | Q(number__gte=0, number__lte=10), name="answer_score_in_range"),
        ]

    def __str__(self):
        return f"{self.question}: {self.number if self.number is not None else self.text[:40]}"


class IdeaKind(models.TextChoices):
    IDEA = "idea", _("Idea")
    CONCERN = "concern", _("Concern")
    QUESTION = "question", _("Question")


class IdeaStatus(models.TextChoices):
    NEW = "new", _("New")
    UNDER_REVIEW = "under_review", _("Under review")
    PLANNED = "planned", _("Planned")
    DONE = "done", _("Done")
    DECLINED = "declined", _("Declined")


class IdeaQuerySet(PartnerOwnedQuerySet):
    def open(self):
        return self.exclude(status__in=[IdeaStatus.DONE, IdeaStatus.DECLINED])


class Idea(models.Model):
    """A partner's idea, concern or question, triaged by the channel team (the feedback loop)."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="ideas", verbose_name=_("partner"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="ideas", verbose_name=_("author")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=IdeaKind.choices, default=IdeaKind.IDEA)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("description"))
    status = models.CharField(_("status"), max_length=15, choices=IdeaStatus.choices, default=IdeaStatus.NEW)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates", verbose_name=_("merged into")
    )
    first_answered_at = models.DateTimeField(_("first answered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("posted at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = partner_scoped_manager(IdeaQuerySet, "partner_id")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("idea")
        verbose_name_plural = _("ideas")
        indexes = [models.Index(fields=["status", "created_at"], name="idea_status_created_idx")]
        constraints = [models.CheckConstraint(condition=~Q(merged_into=models.F("id")), name="idea_not_merged_into_itself")]

    def __str__(self):
        return self.title


class IdeaEvent(models.Model):
    """The history of an idea as its partner sees it: replies and status changes, in order."""

    class Kind(models.TextChoices):
        REPLY = "reply", _("Reply")
        STATUS = "status", _("Status change")
        MERGED = "merged", _("Merged")

    idea = models.ForeignKey(Idea, on_delete=models.CASCADE, related_name="events", verbose_name=_("idea"))
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+", verbose_name=_("partner"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("author"))
    from_status = models.CharField(_("from"), max_length=15, choices=IdeaStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=15, choices=IdeaStatus.choices, blank=True)
    body = models.TextField(_("message"), blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    objects = partner_scoped_manager(models.QuerySet, "partner_id")

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("idea event")
        verbose_name_plural = _("idea events")

    def __str__(self):
        return f"{self.idea}: {self.get_kind_display()}"
