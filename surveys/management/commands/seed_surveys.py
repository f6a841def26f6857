"""`manage.py seed_surveys`: the feedback loop of the demo world (`seed_demo` runs it at its end).

Creates a quarterly "Partner satisfaction (NPS)" pulse survey with its texts in English, Dutch and
German; the waves of the previous two quarters (closed) and of the current quarter (open), each
with answers; and a dozen ideas of the demo partners in every status, with replies and history.

Who answers: the portal users of the partners, i.e. the memberships that exist (`seed_demo` makes
an admin and a user for each well-known partner). Invitations are created by `services.wave_invite`
(active users of active partners) and answers are sent through `services.response_submit`, so they
pass the same validation as the portal's; no user or membership is created here.

Repeatable and idempotent: every random value comes from a generator seeded with a fixed number
and the name of what it is drawn for (the wave and the user, the idea), so a second run draws the
same values, finds them in the database and creates nothing. The survey is found by its English
title, waves by name, ideas by partner and title. Nothing is e-mailed: invitations are created
without the invitation task, and ideas are written with their history already dated in the past.
"""

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django_scopes import scopes_disabled

from partners.models import Membership, Partner
from surveys import services
from surveys.models import (
    Choice,
    Idea,
    IdeaEvent,
    IdeaKind,
    IdeaStatus,
    Invitation,
    Question,
    QuestionKind,
    Recurrence,
    Response,
    Survey,
    Wave,
)

User = get_user_model()

SEED = 20261124
SURVEY_TITLE = "Partner satisfaction (NPS)"
WAVE_OPENS_AFTER_DAYS = 7  # a quarter's wave opens a week into the quarter, at 09:00

SURVEY = {
    "title": {"en": SURVEY_TITLE, "nl": "Partnertevredenheid (NPS)", "de": "Partnerzufriedenheit (NPS)"},
    "intro": {
        "en": "Five minutes, once a quarter: tell us how we are doing as your vendor. Your channel manager reads every answer.",
        "nl": "Vijf minuten, eens per kwartaal: vertel ons hoe we het doen als leverancier. Uw channel manager leest elk antwoord.",
        "de": "Fünf Minuten, einmal im Quartal: Sagen Sie uns, wie wir als Hersteller abschneiden. Ihr Channel Manager liest jede Antwort.",
    },
}


@dataclass(frozen=True)
class QuestionSpec:
    key: str
    kind: str
    text: dict
    required: bool = True
    choices: tuple = ()


QUESTIONS = [
    QuestionSpec(
        "nps",
        QuestionKind.NPS,
        {
            "en": "How likely are you to recommend partnering with us to a friend or colleague?",
            "nl": "Hoe waarschijnlijk is het dat u een partnerschap met ons aanbeveelt aan een vriend of collega?",
            "de": "Wie wahrscheinlich ist es, dass Sie eine Partnerschaft mit uns einem Freund oder Kollegen empfehlen?",
        },
    ),
    QuestionSpec(
        "support",
        QuestionKind.RATING,
        {
            "en": "How satisfied are you with the support of your channel manager?",
            "nl": "Hoe tevreden bent u over de ondersteuning van uw channel manager?",
            "de": "Wie zufrieden sind Sie mit der Unterstützung durch Ihren Channel Manager?",
        },
    ),
    QuestionSpec(
        "programme",
        QuestionKind.RATING,
        {
            "en": "How clear and fair is the partner programme (tiers, incentives, payouts)?",
            "nl": "Hoe duidelijk en eerlijk is het partnerprogramma (niveaus, incentives, uitbetalingen)?",
            "de": "Wie klar und fair ist das Partnerprogramm (Stufen, Incentives, Auszahlungen)?",
        },
    ),
    QuestionSpec(
        "priority",
        QuestionKind.SINGLE,
        {
            "en": "What matters most to your business in the coming year?",
            "nl": "Wat is het belangrijkst voor uw bedrijf in het komende jaar?",
            "de": "Was ist für Ihr Unternehmen im kommenden Jahr am wichtigsten?",
        },
        choices=(
            {"en": "Margins and incentives", "nl": "Marges en incentives", "de": "Margen und Incentives"},
            {"en": "Sales and marketing support", "nl": "Sales- en marketingondersteuning", "de": "Vertriebs- und Marketingunterstützung"},
            {"en": "Training and certification", "nl": "Training en certificering", "de": "Schulung und Zertifizierung"},
            {"en": "The product roadmap", "nl": "De productroadmap", "de": "Die Produkt-Roadmap"},
            {"en": "Delivery and logistics", "nl": "Levering en logistiek", "de": "Lieferung und Logistik"},
        ),
    ),
    QuestionSpec(
        "resources",
        QuestionKind.MULTIPLE,
        {
            "en": "Which of our resources did you use this quarter?",
            "nl": "Welke van onze hulpmiddelen heeft u dit kwartaal gebruikt?",
            "de": "Welche unserer Angebote haben Sie in diesem Quartal genutzt?",
        },
        required=False,
        choices=(
            {"en": "Partner portal", "nl": "Partnerportaal", "de": "Partnerportal"},
            {"en": "Training courses", "nl": "Trainingen", "de": "Schulungen"},
            {"en": "Marketing materials", "nl": "Marketingmateriaal", "de": "Marketingmaterial"},
            {"en": "Deal registration", "nl": "Dealregistratie", "de": "Deal-Registrierung"},
            {"en": "Market development funds", "nl": "Marketingbudget (MDF)", "de": "Marketingbudget (MDF)"},
        ),
    ),
    QuestionSpec(
        "improve",
        QuestionKind.TEXT,
        {"en": "What should we improve?", "nl": "Wat moeten we verbeteren?", "de": "Was sollten wir verbessern?"},
        required=False,
    ),
]

# Free-text answers (in English), by what the respondent scored.
TEXTS = {
    "promoter": [
        "Keep the quarterly business reviews, they really help us plan the next quarter.",
        "Deal registration is quick now. More of that, please.",
        "Our channel manager answers within a day; that makes a real difference with customers.",
        "The training catalogue is excellent. Advanced courses for presales would be welcome.",
        "Co-marketing budget was easy to get this time. Thank you!",
        "Nothing major. Maybe a mobile-friendly portal.",
    ],
    "passive": [
        "Quotes for larger deals take too long to come back.",
        "Marketing materials are good but not localised for our market.",
        "The tier thresholds are hard to follow during the year; show our progress more often.",
        "Delivery times on the hardware range could be better.",
        "Price lists change without enough notice.",
        "More joint customer events in our region.",
    ],
    "detractor": [
        "Margins keep dropping while competitors offer better terms.",
        "Support escalations take days; we lost a customer over it.",
        "Incentive payouts arrive months after the quarter closes.",
        "We rarely hear from our channel manager.",
        "Leads we registered ended up with your direct sales team.",
        "Stock shortages made us miss two deadlines this quarter.",
    ],
}
PRIORITY_WEIGHTS = [34, 26, 14, 16, 10]
RESOURCE_WEIGHTS = [0.8, 0.45, 0.5, 0.55, 0.2]


@dataclass(frozen=True)
class EventSpec:
    days_after: int
    kind: str
    by: str  # "manager" or "author"
    to_status: str = ""
    body: str = ""


@dataclass(frozen=True)
class IdeaSpec:
    title: str
    kind: str
    body: str
    days_ago: int
    events: tuple = ()
    merged_into: str = ""  # the title of the idea this one duplicates


def _status(days, to, body=""):
    return EventSpec(days, IdeaEvent.Kind.STATUS, "manager", to, body)


def _reply(days, body, by="manager"):
    return EventSpec(days, IdeaEvent.Kind.REPLY, by, body=body)


S = IdeaStatus
IDEAS = [
    IdeaSpec(
        "Show our MDF balance in the portal",
        IdeaKind.IDEA,
        "We never know how much market development budget is left before we ask. A simple balance on the portal home page would "
        "save everybody e-mails.",
        150,
        (
            _status(2, S.UNDER_REVIEW),
            _reply(3, "Good point. We are checking with finance how often the balance can be refreshed."),
            _status(20, S.PLANNED, "Scheduled for the next portal release."),
            _status(95, S.DONE, "Live now: the balance is on the portal home page."),
            _reply(97, "Works great, thanks!", by="author"),
        ),
    ),
    IdeaSpec(
        "Portal overview of marketing budget",
        IdeaKind.IDEA,
        "It would help to see the remaining co-marketing budget per quarter in the portal.",
        140,
        merged_into="Show our MDF balance in the portal",
    ),
    IdeaSpec(
        "Localised marketing kits (Dutch and German)",
        IdeaKind.IDEA,
        "Our customers expect material in their own language. Could the campaign kits come in Dutch and German as well?",
        75,
        (
            _status(4, S.UNDER_REVIEW),
            _reply(6, "Marketing is collecting which kits are used most, so we can start with those."),
            _status(30, S.PLANNED, "The top five kits will be translated this quarter."),
        ),
    ),
    IdeaSpec(
        "API access to our sales figures",
        IdeaKind.IDEA,
        "We would like to pull our monthly sales and tier progress into our own BI tool instead of exporting CSV files.",
        60,
        (_status(5, S.UNDER_REVIEW), _status(18, S.PLANNED, "A read-only API for partner users is on the roadmap.")),
    ),
    IdeaSpec(
        "Quotes for deals over 50k take too long",
        IdeaKind.CONCERN,
        "Last month two quotes for larger deals took more than a week. Customers went with a competitor in one case.",
        21,
        (
            _status(1, S.UNDER_REVIEW, "We are looking into the approval chain for large quotes."),
            _reply(2, "Sorry about the lost deal. Can you send us the quote numbers so we can trace what happened?"),
            _reply(3, "Sent them to our channel manager by e-mail.", by="author"),
        ),
    ),
    IdeaSpec(
        "Incentive payouts arrive late",
        IdeaKind.CONCERN,
        "The Q2 rebate was paid almost three months after the quarter closed. That hurts our cash flow.",
        35,
        (_status(3, S.UNDER_REVIEW), _reply(4, "Finance confirmed the delay; payouts will be approved within 30 days from now on.")),
    ),
    IdeaSpec(
        "Deal registrations expire after 60 days",
        IdeaKind.CONCERN,
        "Public tenders run longer than 60 days, so our registrations lapse before the customer decides.",
        110,
        (
            _status(6, S.UNDER_REVIEW),
            _status(25, S.DECLINED, "We keep 60 days, but a registration can now be extended once from the portal."),
        ),
    ),
    IdeaSpec(
        "Joint stand at every regional trade fair",
        IdeaKind.IDEA,
        "Could you share a stand with partners at the regional IT fairs?",
        90,
        (_reply(5, "Thanks for the suggestion."), _status(12, S.DECLINED, "The events budget goes to the two national fairs this year.")),
    ),
    IdeaSpec(
        "Can we get a demo unit for our showroom?",
        IdeaKind.QUESTION,
        "We are opening a showroom and would like a demo unit of the new gateway range.",
        45,
        (
            _reply(1, "Yes: Gold and Platinum partners get one demo unit a year at 50% off. Your channel manager will send the form."),
            _status(2, S.DONE),
        ),
    ),
    IdeaSpec(
        "Who handles support escalations at night?",
        IdeaKind.QUESTION,
        "One of our customers had an outage on a Saturday night and we could not reach anybody. Who should we call?",
        38,
    ),
    IdeaSpec(
        "Certification exams in German",
        IdeaKind.IDEA,
        "Our engineers would pass the exams more easily in German. Is a German version planned?",
        9,
    ),
    IdeaSpec(
        "Template for the quarterly pipeline review",
        IdeaKind.IDEA,
        "A shared template for the quarterly pipeline review would make the meetings shorter.",
        2,
    ),
]


def _rng(*parts):
    return random.Random(":".join(map(str, (SEED, *parts))))


def _aware(day, hour=9):
    return timezone.make_aware(datetime.combine(day, time(hour)))


def _quarter_start(day):
    return services.period_start(Recurrence.QUARTERLY, day)


def _previous_quarter(start):
    return _quarter_start(start - timedelta(days=1))


class Command(BaseCommand):
    help = (
        "Create the demo feedback loop: a quarterly NPS survey (en/nl/de) with two closed waves and an open one, answered by the "
        "partners' portal users, and a dozen ideas in every status. Needs seed_demo; running it again changes nothing."
    )

    def handle(self, *args, **options):
        now = timezone.now()
        with scopes_disabled():
            with transaction.atomic():
                if not Membership.objects.exists():
                    raise CommandError("No partner has portal users yet: run `manage.py seed_demo` first.")
                before = self._counts()
                survey = self._survey()
                waves = self._waves(survey, now)
                for wave, answer_share, is_new in waves:
                    if is_new:  # a wave that exists already is left as it is: its answers may be real ones
                        self._answers(wave, answer_share, now)
                self._ideas(now)
                created = {name: after - before[name] for name, after in self._counts().items()}
            if options["verbosity"] >= 1:
                self._report(survey, [wave for wave, _share, _new in waves], created)

    @staticmethod
    def _counts():
        return {
            "surveys": Survey.objects.count(),
            "questions": Question.objects.count(),
            "waves": Wave.objects.count(),
            "invitations": Invitation.objects.count(),
            "responses": Response.objects.count(),
            "ideas": Idea.objects.count(),
            "idea events": IdeaEvent.objects.count(),
        }

    # -- the survey and its waves --------------------------------------------------------------------

    @staticmethod
    def _translated(name, texts):
        return {f"{name}_{language}": text for language, text in texts.items()}

    def _survey(self):
        survey = Survey.objects.filter(title_en=SURVEY_TITLE, recurrence=Recurrence.QUARTERLY).first()
        if survey is not None:
            return survey
        survey = Survey.objects.create(
            **self._translated("title", SURVEY["title"]),
            **self._translated("intro", SURVEY["intro"]),
            recurrence=Recurrence.QUARTERLY,
            wave_length_days=21,
            max_reminders=2,
            reminder_interval_days=7,
        )
        for position, spec in enumerate(QUESTIONS, start=1):
            question = Question.objects.create(
                survey=survey, kind=spec.kind, is_required=spec.required, position=position, **self._translated("text", spec.text)
            )
            for index, choice in enumerate(spec.choices, start=1):
                Choice.objects.create(question=question, position=index, **self._translated("text", choice))
        return survey

    def _waves(self, survey, now):
        """The waves of the previous two quarters (closed) and of this one (open): [(wave, share that answers, created now)]."""
        current = _quarter_start(timezone.localdate(now))
        previous = _previous_quarter(current)
        starts = [(_previous_quarter(previous), 0.8), (previous, 0.75), (current, 0.5)]
        waves = []
        for start, share in starts:
            name = services.period_name(Recurrence.QUARTERLY, start)
            opens_at = _aware(start + timedelta(days=WAVE_OPENS_AFTER_DAYS))
            closes_at = opens_at + timedelta(days=survey.wave_length_days)
            if start == current:
                # Open now, whatever day of the quarter this is.
                opens_at = min(opens_at, now - timedelta(hours=1))
                closes_at = max(closes_at, now + timedelta(days=10))
            wave = Wave.objects.filter(survey=survey, name=name).first()
            is_new = wave is None
            if is_new:
                # Created directly rather than with services.wave_create: past waves cannot be scheduled
                # there, and its invitation task would e-mail the demo users.
                wave = Wave.objects.create(survey=survey, name=name, opens_at=opens_at, closes_at=closes_at)
                services.wave_invite(wave=wave, now=opens_at)
            waves.append((wave, share, is_new))
        return waves

    # -- answers -------------------------------------------------------------------------------------

    def _answers(self, wave, share, now):
        survey = wave.survey
        questions = {spec.key: question for spec, question in zip(QUESTIONS, survey.questions.prefetch_related("choices"), strict=False)}
        if [q.kind for q in questions.values()] != [spec.kind for spec in QUESTIONS]:
            return  # the survey was edited by hand since it was seeded: leave its waves alone
        wave_index = list(survey.waves.order_by("opens_at").values_list("pk", flat=True)).index(wave.pk)
        last_moment = min(wave.closes_at, now) - timedelta(minutes=5)
        invitations = Invitation.objects.filter(wave=wave, responded_at__isnull=True).select_related("user", "partner__tier")
        for invitation in invitations.order_by("pk"):
            rng = _rng("answer", wave.name, invitation.user.username)
            if rng.random() >= share:
                continue
            when = wave.opens_at + (last_moment - wave.opens_at) * rng.uniform(0.02, 0.95)
            data = self._draw_answers(rng, questions, invitation.partner, wave_index)
            services.response_submit(invitation=invitation, data=data, now=when)
        closed = wave.closes_at <= now
        if closed:  # those who never answered were reminded as often as the survey allows
            Invitation.objects.filter(wave=wave, responded_at__isnull=True, reminders_sent=0).update(
                reminders_sent=survey.max_reminders,
                last_reminded_at=wave.opens_at + timedelta(days=survey.reminder_interval_days * survey.max_reminders),
            )

    @staticmethod
    def _draw_answers(rng, questions, partner, wave_index):
        # A partner's mood follows its tier, with a small improvement from wave to wave.
        mood = _rng("mood", partner.external_id or partner.pk).gauss(0, 1) + 0.35 * ((partner.tier.rank if partner.tier else 1) - 2)
        mood += 0.25 * wave_index + rng.gauss(0, 0.6)
        if mood > 0.6:
            category, score = "promoter", rng.choice([9, 10, 10])
        elif mood > -0.4:
            category, score = "passive", rng.choice([7, 8, 8])
        else:
            category, score = "detractor", rng.choices([2, 3, 4, 5, 6], [1, 1, 2, 3, 4])[0]
        data = {str(questions["nps"].pk): score}
        for key in ("support", "programme"):
            data[str(questions[key].pk)] = max(1, min(5, round(score / 2.2 + rng.gauss(0.3, 0.7))))
        priority = list(questions["priority"].choices.all())
        data[str(questions["priority"].pk)] = rng.choices(priority, PRIORITY_WEIGHTS[: len(priority)])[0].pk
        used = [
            choice.pk
            for choice, weight in zip(questions["resources"].choices.all(), RESOURCE_WEIGHTS, strict=False)
            if rng.random() < weight
        ]
        if used:
            data[str(questions["resources"].pk)] = used
        if rng.random() < 0.65:
            data[str(questions["improve"].pk)] = rng.choice(TEXTS[category])
        return data

    # -- ideas ---------------------------------------------------------------------------------------

    def _ideas(self, now):
        partners = list(
            Partner.objects.annotate(members=Count("memberships")).filter(members__gt=0).select_related("account_manager").order_by("pk")
        )
        members = {}
        for membership in Membership.objects.filter(partner__in=partners).select_related("user").order_by("user__username"):
            members.setdefault(membership.partner_id, []).append(membership.user)
        fallback_manager = User.objects.filter(is_staff=True, is_active=True).order_by("pk").first()
        by_title = {}
        for index, spec in enumerate(IDEAS):
            idea = Idea.objects.filter(partner__in=partners, title=spec.title).first()
            if idea is None:
                partner = partners[index % len(partners)]
                idea = self._idea(spec, partner, members[partner.pk], partner.account_manager or fallback_manager, by_title, now)
            by_title[spec.title] = idea

    @staticmethod
    def _idea(spec, partner, members, manager, by_title, now):
        rng = _rng("idea", spec.title)
        author = rng.choice(members)
        posted = now - timedelta(days=spec.days_ago, hours=rng.randint(0, 8))
        idea = Idea.objects.create(partner=partner, author=author, kind=spec.kind, title=spec.title, body=spec.body, created_at=posted)
        status, first_answered = IdeaStatus.NEW, None
        events = []
        for event in spec.events:
            at = min(posted + timedelta(days=event.days_after, hours=rng.randint(1, 6)), now - timedelta(minutes=10))
            by = manager if event.by == "manager" else author
            if event.kind == IdeaEvent.Kind.STATUS:
                events.append(
                    IdeaEvent(kind=event.kind, author=by, from_status=status, to_status=event.to_status, body=event.body, created_at=at)
                )
                status = event.to_status
            else:
                events.append(IdeaEvent(kind=event.kind, author=by, body=event.body, created_at=at))
            if event.by == "manager" and first_answered is None:
                first_answered = at
        if spec.merged_into:
            # Merged a day after it was posted; from then on it followed the other idea's status changes.
            into = by_title[spec.merged_into]
            at = posted + timedelta(days=1)
            later = list(into.events.filter(kind=IdeaEvent.Kind.STATUS, created_at__gt=at).order_by("created_at", "id"))
            into_status = later[0].from_status if later else into.status
            events.append(IdeaEvent(kind=IdeaEvent.Kind.MERGED, author=manager, from_status=status, to_status=into_status, created_at=at))
            status, first_answered, idea.merged_into = into_status, at, into
            for change in later:
                events.append(
                    IdeaEvent(
                        kind=IdeaEvent.Kind.STATUS,
                        author=change.author,
                        from_status=status,
                        to_status=change.to_status,
                        body=change.body,
                        created_at=change.created_at,
                    )
                )
                status = change.to_status
        for event in events:
            event.idea, event.partner = idea, partner
        IdeaEvent.objects.bulk_create(events)
        idea.status, idea.first_answered_at = status, first_answered
        idea.save(update_fields=["status", "first_answered_at", "merged_into", "updated_at"])
        return idea

    # -- output --------------------------------------------------------------------------------------

    def _report(self, survey, waves, created):
        self.stdout.write(f'Survey "{survey.title}" ({survey.questions.count()} questions, en/nl/de), quarterly pulse:')
        for wave in sorted(waves, key=lambda wave: wave.opens_at):
            invited = wave.invitations.count()
            answered = wave.responses.count()
            self.stdout.write(
                f"  {wave.name:<8} {wave.state:<9} {timezone.localtime(wave.opens_at):%Y-%m-%d} to "
                f"{timezone.localtime(wave.closes_at):%Y-%m-%d}: {answered} of {invited} invited answered"
            )
        by_status = dict(Idea.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
        self.stdout.write("Ideas board: " + ", ".join(f"{by_status.get(value, 0)} {label.lower()}" for value, label in IdeaStatus.choices))
        summary = ", ".join(f"{count} {name}" for name, count in created.items())
        self.stdout.write(self.style.SUCCESS(f"Created {summary}."))
