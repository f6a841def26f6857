"""factory-boy factories for the surveys app, shared by every test module under tests/surveys/.

Defaults make the smallest valid object: an NPS question, an open wave (opened a day ago, closing
in two weeks), an invitation of a new partner user. Translated texts are set in English (the
default language); pass `title_nl=...` and so on for the others.
"""

from datetime import timedelta

import factory
from django.utils import timezone

from surveys.models import Answer, Choice, Idea, IdeaKind, IdeaStatus, Invitation, Question, QuestionKind, Response, Survey, Wave
from tests.partners.factories import PartnerFactory, UserFactory


class SurveyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Survey
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Partner satisfaction {n}")
    intro = "Tell us how we are doing."

    @factory.post_generation
    def tiers(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.tiers.set(extracted)

    @factory.post_generation
    def territories(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.territories.set(extracted)


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Question

    survey = factory.SubFactory(SurveyFactory)
    kind = QuestionKind.NPS
    text = factory.Sequence(lambda n: f"Question {n}?")
    is_required = True
    position = factory.Sequence(lambda n: n)


class ChoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Choice

    question = factory.SubFactory(QuestionFactory, kind=QuestionKind.SINGLE)
    text = factory.Sequence(lambda n: f"Option {n}")
    position = factory.Sequence(lambda n: n)


class WaveFactory(factory.django.DjangoModelFactory):
    """An open wave: opened a day ago, closes in fourteen days."""

    class Meta:
        model = Wave

    survey = factory.SubFactory(SurveyFactory)
    name = factory.Sequence(lambda n: f"Wave {n}")
    opens_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    closes_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=14))


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invitation

    wave = factory.SubFactory(WaveFactory)
    partner = factory.SubFactory(PartnerFactory)
    user = factory.SubFactory(UserFactory)
    sent_at = factory.LazyFunction(timezone.now)


class ResponseFactory(factory.django.DjangoModelFactory):
    """A submitted response; named ("user:<id>") unless the survey is anonymous (no user, random key)."""

    class Meta:
        model = Response

    wave = factory.SubFactory(WaveFactory)
    partner = factory.SubFactory(PartnerFactory)
    user = factory.LazyAttribute(lambda o: None if o.wave.survey.is_anonymous else UserFactory())
    respondent_key = factory.LazyAttributeSequence(
        lambda o, n: (
            f"anon:{n:032x}"
            if o.user is None
            else (f"partner:{o.partner.pk}" if o.wave.survey.one_response_per_partner else f"user:{o.user.pk}")
        )
    )
    submitted_at = factory.LazyFunction(timezone.now)


class AnswerFactory(factory.django.DjangoModelFactory):
    """An answer; pass `number` (NPS, rating), `text`, or `choices=[...]` (single, multiple)."""

    class Meta:
        model = Answer
        skip_postgeneration_save = True

    response = factory.SubFactory(ResponseFactory)
    question = factory.SubFactory(QuestionFactory, survey=factory.SelfAttribute("..response.wave.survey"))
    number = None
    text = ""

    @factory.post_generation
    def choices(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.choices.set(extracted)


class IdeaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Idea

    partner = factory.SubFactory(PartnerFactory)
    author = factory.SubFactory(UserFactory)
    kind = IdeaKind.IDEA
    title = factory.Sequence(lambda n: f"Idea {n}")
    body = "It would help us sell more."
    status = IdeaStatus.NEW
