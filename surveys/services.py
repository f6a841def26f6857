"""Every write of the feedback loop: surveys and waves, answering, reminders, the ideas board."""

import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from modeltranslation.settings import AVAILABLE_LANGUAGES
from modeltranslation.utils import build_localized_fieldname

from core.tasks import enqueue_after_commit
from partners.models import Membership, Partner

from .models import (
    Answer,
    Choice,
    Idea,
    IdeaEvent,
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

TEXT_ANSWER_MAX = 5000
IDEA_TITLE_MAX = 200
IDEA_BODY_MAX = 10_000
REPLY_MAX = 5000


def _contains_nul(value):
    """PostgreSQL text and jsonb cannot hold NUL characters: refused here rather than failing in the database."""
    values = value if isinstance(value, list) else [value]
    return any(isinstance(item, str) and "\x00" in item for item in values)


def _clean_text(value, *, required_message, max_length):
    """A stripped text, or the message that refuses it: (text, None) or (None, message)."""
    if not isinstance(value, str):
        return None, _("Enter text.")
    if "\x00" in value:
        return None, _("The text contains characters that are not allowed.")
    value = value.strip()
    if not value and required_message:
        return None, required_message
    if len(value) > max_length:
        return None, _("Keep it to %(max)s characters at most (this text has %(length)s).") % {"max": max_length, "length": len(value)}
    return value, None


# --- surveys and waves ----------------------------------------------------------------------------

# Who an answer belongs to is fixed when it is given: once a wave exists, changing these would
# re-label answers already collected (named ones shown as anonymous, or the other way round).
SURVEY_LOCKED_FIELDS = ("is_anonymous", "one_response_per_partner")
SURVEY_LOCKED_MESSAGE = gettext_lazy("This cannot change once the survey has a wave.")
SURVEY_M2M_FIELDS = ("tiers", "territories")


def survey_locked_fields(*, survey: Survey) -> tuple:
    """The settings of `survey` that can no longer change (the anonymity lock): none before its first wave."""
    return SURVEY_LOCKED_FIELDS if survey.pk and survey.waves.exists() else ()


def _set_survey_fields(survey, fields):
    m2m = {name: fields.pop(name) for name in SURVEY_M2M_FIELDS if name in fields}
    for name, value in fields.items():
        setattr(survey, name, value)
    return m2m


@transaction.atomic
def survey_create(*, by, **fields) -> Survey:
    """A new survey from its settings (`tiers` and `territories` as lists of rows), created by `by`."""
    survey = Survey(created_by=by)
    m2m = _set_survey_fields(survey, dict(fields))
    survey.save()
    for name, values in m2m.items():
        getattr(survey, name).set(values)
    return survey


@transaction.atomic
def survey_update(*, survey: Survey, **fields) -> Survey:
    """Change a survey's settings; the anonymity lock refuses changing `SURVEY_LOCKED_FIELDS` once a wave exists.

    The lock compares with the stored values (the survey is locked while checking), so an instance a
    form has already changed is checked as well.
    """
    locked = [name for name in SURVEY_LOCKED_FIELDS if name in fields]
    if locked:
        stored = Survey.objects.select_for_update().filter(pk=survey.pk).values(*locked).get()
        for name in survey_locked_fields(survey=survey):
            if name in fields and fields[name] != stored[name]:
                raise ValidationError({name: SURVEY_LOCKED_MESSAGE})
    m2m = _set_survey_fields(survey, dict(fields))
    survey.save()
    for name, values in m2m.items():
        getattr(survey, name).set(values)
    return survey


@transaction.atomic
def survey_archive(*, survey: Survey, archived: bool = True) -> Survey:
    """Archive a survey (no new pulse waves; open waves stay open), or bring it back with `archived=False`."""
    survey.is_archived = archived
    survey.save(update_fields=["is_archived", "updated_at"])
    return survey


@transaction.atomic
def survey_delete(*, survey: Survey) -> None:
    """Delete a survey without waves; one with waves is refused (code "protected"): archive it instead."""
    if survey.waves.exists():
        raise ValidationError(_("This survey has waves (and possibly answers); archive it instead of deleting it."), code="protected")
    survey.delete()


def question_delete_validate(*, question: Question):
    """Refuse deleting a question that has answers."""
    if question.answers.exists():
        raise ValidationError(_("This question has answers and cannot be deleted; duplicate the survey to change it."), code="answered")


@transaction.atomic
def question_delete(*, question: Question) -> None:
    question_delete_validate(question=question)
    question.delete()


@transaction.atomic
def question_move(*, question: Question, direction: str) -> bool:
    """Swap the question with its neighbour ("up" or "down"); positions are renumbered 0..n-1 on the way.

    The survey's questions are locked so two managers reordering at once cannot both read the
    same order and write duplicate positions. True when the question moved (not already first or last).
    """
    if direction not in ("up", "down"):
        raise ValidationError({"direction": _("Choose to move the question up or down.")})
    questions = list(Question.objects.select_for_update().filter(survey_id=question.survey_id).order_by("position", "pk"))
    index = next(i for i, item in enumerate(questions) if item.pk == question.pk)
    other = index - 1 if direction == "up" else index + 1
    moved = 0 <= other < len(questions)
    if moved:
        questions[index], questions[other] = questions[other], questions[index]
    changed = []
    for position, item in enumerate(questions):
        if item.position != position:
            item.position = position
            changed.append(item)
    Question.objects.bulk_update(changed, ["position"])
    return moved


@transaction.atomic
def survey_duplicate(*, survey: Survey, by) -> Survey:
    """A copy of a survey with its questions and choices in every language, without waves.

    Each title gets the "Copy of" prefix in its own language (cut to the title's length).
    """
    copy = Survey.objects.get(pk=survey.pk)
    copy.pk = None
    copy.created_by = by
    copy.is_archived = False  # a copy is made to be used: it starts among the active surveys
    max_length = Survey._meta.get_field("title").max_length
    for language in AVAILABLE_LANGUAGES:
        field = build_localized_fieldname("title", language)
        value = getattr(copy, field)
        if value:
            with translation.override(language):
                setattr(copy, field, (_("Copy of %(title)s") % {"title": value})[:max_length])
    copy.save()
    copy.tiers.set(survey.tiers.all())
    copy.territories.set(survey.territories.all())
    for question in survey.questions.prefetch_related("choices"):
        choices = list(question.choices.all())
        question.pk = None
        question.survey = copy
        question.save()
        for choice in choices:
            choice.pk = None
            choice.question = question
            choice.save()
    return copy


def question_validate(*, question: Question, choice_texts=None):
    if question.has_choices and choice_texts is not None and len([text for text in choice_texts if text.strip()]) < 2:
        raise ValidationError({"choices": _("A choice question needs at least two choices.")})


@transaction.atomic
def wave_create(*, survey: Survey, name: str, opens_at, closes_at, by=None, now=None) -> Wave:
    """Schedule a wave; invitations go out when it opens (now, if it opens now)."""
    now = now or timezone.now()
    if closes_at <= opens_at:
        raise ValidationError({"closes_at": _("A wave must close after it opens.")})
    if closes_at <= now:
        raise ValidationError({"closes_at": _("This date is in the past.")})
    if not survey.questions.exists():
        raise ValidationError(_("Add at least one question before opening a wave."))
    if Wave.objects.filter(survey=survey, name=name).exists():
        raise ValidationError({"name": _("This survey already has a wave with that name.")})
    wave = Wave.objects.create(survey=survey, name=name, opens_at=opens_at, closes_at=closes_at)
    if opens_at <= now:
        from .tasks import send_wave_invitations

        enqueue_after_commit(send_wave_invitations, wave_id=wave.pk)
    return wave


@transaction.atomic
def wave_close(*, wave: Wave, by=None, now=None) -> Wave:
    """Close a wave now: answers and reminders stop.

    A wave that has not opened yet is cancelled: its dates move to now (closed the moment it
    "opens"), so it never opens and nobody is invited; it stays listed as closed with no invitations.
    """
    now = now or timezone.now()
    wave = Wave.objects.select_for_update().get(pk=wave.pk)
    if wave.closes_at <= now:
        raise ValidationError(_("This wave is already closed."))
    if wave.opens_at > now:
        wave.opens_at, wave.closes_at = now - timedelta(seconds=1), now
    else:
        wave.closes_at = max(now, wave.opens_at + timedelta(seconds=1))
    wave.save(update_fields=["opens_at", "closes_at"])
    return wave


def wave_invite(*, wave: Wave, now=None) -> list:
    """Create the invitations of an open wave once (idempotent) and return those to e-mail.

    The audience is evaluated when the wave opens: the active portal users of every active partner
    the survey is meant for.
    """
    now = now or timezone.now()
    with transaction.atomic():
        claimed = Wave.objects.filter(pk=wave.pk, invitations_sent_at__isnull=True, opens_at__lte=now, closes_at__gt=now).update(
            invitations_sent_at=now
        )
        if not claimed:
            return []
        partners = Partner.objects.filter(wave.survey.audience_q())
        memberships = Membership.objects.filter(partner__in=partners, user__is_active=True).select_related("user")
        invitations = [Invitation(wave=wave, partner_id=m.partner_id, user=m.user, sent_at=now) for m in memberships]
        Invitation.objects.bulk_create(invitations, ignore_conflicts=True, batch_size=1000)
    return list(Invitation.objects.filter(wave=wave, sent_at=now).values_list("pk", flat=True))


def due_reminders(*, now=None):
    """Invitations to remind: open wave, not answered (by them or, per company, by a colleague),
    fewer reminders than the survey allows, and the interval since the last message elapsed."""
    now = now or timezone.now()
    candidates = (
        Invitation.objects.filter(wave__opens_at__lte=now, wave__closes_at__gt=now, responded_at__isnull=True, sent_at__isnull=False)
        .select_related("wave__survey")
        .order_by("pk")
    )
    due = []
    answered_companies = set(
        Response.objects.filter(wave__closes_at__gt=now, respondent_key__startswith="partner:").values_list("wave_id", "partner_id")
    )
    for invitation in candidates:
        survey = invitation.wave.survey
        if invitation.reminders_sent >= survey.max_reminders:
            continue
        if survey.one_response_per_partner and (invitation.wave_id, invitation.partner_id) in answered_companies:
            continue
        last = invitation.last_reminded_at or invitation.sent_at
        if last + timedelta(days=survey.reminder_interval_days) <= now:
            due.append(invitation.pk)
    return due


def reminder_mark_sent(*, invitation_id, now=None) -> bool:
    """Count a reminder once (compare-and-set), so a retried task never sends two."""
    now = now or timezone.now()
    invitation = Invitation.objects.select_related("wave__survey").get(pk=invitation_id)
    return bool(
        Invitation.objects.filter(
            pk=invitation_id,
            reminders_sent=invitation.reminders_sent,
            reminders_sent__lt=invitation.wave.survey.max_reminders,
            responded_at__isnull=True,
            wave__closes_at__gt=now,
        ).update(reminders_sent=invitation.reminders_sent + 1, last_reminded_at=now)
    )


PERIOD_MONTHS = {Recurrence.MONTHLY: 1, Recurrence.QUARTERLY: 3, Recurrence.YEARLY: 12}


def period_start(recurrence, day):
    months = PERIOD_MONTHS[recurrence]
    month = ((day.month - 1) // months) * months + 1
    return day.replace(month=month, day=1)


def period_name(recurrence, start):
    if recurrence == Recurrence.QUARTERLY:
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    if recurrence == Recurrence.MONTHLY:
        return start.strftime("%Y-%m")
    return str(start.year)


def pulse_waves_create(*, now=None) -> list:
    """For every recurring survey, open this period's wave if it does not exist yet (idempotent).

    Every date comes from `now`, so a run for a given moment (a test, a catch-up) decides as it would have then.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    created = []
    for survey in Survey.objects.filter(is_archived=False).exclude(recurrence=Recurrence.NONE):
        name = period_name(survey.recurrence, period_start(survey.recurrence, today))
        if Wave.objects.filter(survey=survey, name=name).exists() or not survey.questions.exists():
            continue
        try:
            with transaction.atomic():
                created.append(
                    wave_create(survey=survey, name=name, opens_at=now, closes_at=now + timedelta(days=survey.wave_length_days), now=now)
                )
        except (IntegrityError, ValidationError):
            continue  # a concurrent run created it first
    return created


# --- answering ------------------------------------------------------------------------------------


def _is_empty(value):
    """No answer: nothing, an empty list, or a text of blanks only."""
    return value is None or value == [] or (isinstance(value, str) and not value.strip())


def _value_errors(question, value, *, complete):
    """Why `value` is not a valid answer to `question` (empty list when it is)."""
    if _contains_nul(value):
        return [_("The answer contains characters that are not allowed.")]
    if _is_empty(value):
        return [_("This question needs an answer.")] if complete and question.is_required else []
    if question.kind in (QuestionKind.NPS, QuestionKind.RATING):
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            return [_("Choose a score.")]  # JSON true or 9.5 would otherwise pass int() as 1 or 9
        try:
            number = int(value)
        except (TypeError, ValueError):
            return [_("Choose a score.")]
        if number not in question.scale:
            low, high = question.scale[0], question.scale[-1]
            return [_("Choose a score from %(low)s to %(high)s.") % {"low": low, "high": high}]
        return []
    if question.kind == QuestionKind.TEXT:
        if not isinstance(value, str):
            return [_("Write the answer as text.")]
        if len(value.strip()) > TEXT_ANSWER_MAX:
            return [_("The answer is too long (%(max)s characters at most).") % {"max": TEXT_ANSWER_MAX}]
        return []
    ids = value if isinstance(value, list) else [value]
    if question.kind == QuestionKind.SINGLE and len(ids) != 1:
        return [_("Choose one option.")]
    if any(isinstance(choice_id, bool | float) for choice_id in ids):
        return [_("Choose one of the options shown.")]  # int() would read true as 1 and 12.5 as 12
    try:
        ids = {int(choice_id) for choice_id in ids}
    except (TypeError, ValueError):
        return [_("Choose one of the options shown.")]
    valid = {choice.pk for choice in question.choices.all()}
    if not ids <= valid:
        return [_("Choose one of the options shown.")]
    return []


def answers_validate(*, survey: Survey, data: dict, complete: bool) -> dict:
    """Check answers keyed by question id; raise ValidationError {"q<id>": [messages]}.

    Returns the answers given, keyed by question id as a string, texts stripped; a text of blanks
    only counts as no answer.
    """
    questions = {str(question.pk): question for question in survey.questions.prefetch_related("choices")}
    unknown = set(map(str, data)) - set(questions)
    errors = {}
    if unknown:
        errors["__all__"] = [_("The answers refer to questions that are not in this survey.")]
    for key, question in questions.items():
        problems = _value_errors(question, data.get(key, data.get(int(key))), complete=complete)
        if problems:
            errors[f"q{key}"] = problems
    if errors:
        raise ValidationError(errors)
    answers = {}
    for key, question in questions.items():
        value = data.get(key, data.get(int(key)))
        if not _is_empty(value):
            answers[key] = value.strip() if question.kind == QuestionKind.TEXT else value
    return answers


def _require_open(wave, now):
    if not wave.is_open(now):
        raise ValidationError(_("This survey is closed; answers can no longer be changed or sent."))


def _company_response_exists(invitation):
    return Response.objects.filter(wave_id=invitation.wave_id, respondent_key=f"partner:{invitation.partner_id}").exists()


@transaction.atomic
def draft_save(*, invitation: Invitation, data: dict, now=None) -> Invitation:
    """Save partial answers on the invitation (nothing is counted until submitted).

    Refused like a submission would be: after the close, once answered, and once a colleague has
    sent the company's answer to a one-answer-per-company survey.
    """
    now = now or timezone.now()
    invitation = Invitation.objects.select_for_update().select_related("wave__survey").get(pk=invitation.pk)
    _require_open(invitation.wave, now)
    if invitation.responded_at:
        raise ValidationError(_("You have already answered this survey."))
    if invitation.wave.survey.one_response_per_partner and _company_response_exists(invitation):
        raise ValidationError(_("A colleague has already answered this survey for your company."))
    invitation.draft = answers_validate(survey=invitation.wave.survey, data=data, complete=False)
    invitation.save(update_fields=["draft"])
    return invitation


@transaction.atomic
def response_submit(*, invitation: Invitation, data: dict, now=None) -> Response:
    """Validate and record a complete set of answers, once per person (or per company)."""
    now = now or timezone.now()
    # Lock the invitation: two tabs submitting at once must not both pass the "not answered" check.
    invitation = Invitation.objects.select_for_update().select_related("wave__survey", "user").get(pk=invitation.pk)
    wave, survey = invitation.wave, invitation.wave.survey
    _require_open(wave, now)
    if invitation.responded_at:
        raise ValidationError(_("You have already answered this survey."))
    if survey.one_response_per_partner and _company_response_exists(invitation):
        raise ValidationError(_("A colleague has already answered this survey for your company."))
    answers = answers_validate(survey=survey, data=data, complete=True)
    if survey.one_response_per_partner:
        key = f"partner:{invitation.partner_id}"
    elif survey.is_anonymous:
        key = f"anon:{secrets.token_hex(16)}"
    else:
        key = f"user:{invitation.user_id}"
    try:
        with transaction.atomic():
            response = Response.objects.create(
                wave=wave,
                partner_id=invitation.partner_id,
                user=None if survey.is_anonymous else invitation.user,
                respondent_key=key,
                submitted_at=now if not survey.is_anonymous else now.replace(minute=0, second=0, microsecond=0),
            )
    except IntegrityError:
        raise ValidationError(_("A colleague has already answered this survey for your company.")) from None
    questions = {str(question.pk): question for question in survey.questions.all()}
    for key_, value in answers.items():
        question = questions[key_]
        answer = Answer(response=response, question=question)
        if question.kind in (QuestionKind.NPS, QuestionKind.RATING):
            answer.number = int(value)
        elif question.kind == QuestionKind.TEXT:
            answer.text = value
        answer.save()
        if question.has_choices:
            answer.choices.set(
                Choice.objects.filter(question=question, pk__in=[int(v) for v in (value if isinstance(value, list) else [value])])
            )
    invitation.responded_at = now
    invitation.draft = {}
    invitation.save(update_fields=["responded_at", "draft"])
    return response


# --- ideas board ----------------------------------------------------------------------------------


def _notify_idea(idea_id, event_id):
    from .tasks import notify_idea_author

    enqueue_after_commit(notify_idea_author, idea_id=idea_id, event_id=event_id)


def idea_post(*, partner: Partner, author, kind: str, title: str, body: str) -> Idea:
    """Post a partner's idea, concern or question; the channel team is told after commit."""
    title, title_error = _clean_text(title, required_message=_("Give your post a title."), max_length=IDEA_TITLE_MAX)
    body, body_error = _clean_text(body, required_message=_("Describe your idea, concern or question."), max_length=IDEA_BODY_MAX)
    errors = {field: message for field, message in (("title", title_error), ("body", body_error)) if message}
    if errors:
        raise ValidationError(errors)
    idea = Idea(partner=partner, author=author, kind=kind, title=title, body=body)
    idea.full_clean()
    idea.save()
    from .tasks import notify_managers_of_idea

    enqueue_after_commit(notify_managers_of_idea, idea_id=idea.pk)
    return idea


@transaction.atomic
def idea_set_status(*, idea: Idea, status: str, by, note: str = "") -> Idea:
    """Move an idea (and the duplicates merged into it) to a new status; each author is told."""
    if status not in IdeaStatus.values:
        raise ValidationError({"status": _("Unknown status.")})
    note, note_error = _clean_text(note or "", required_message=None, max_length=REPLY_MAX)
    if note_error:
        raise ValidationError({"note": note_error})
    idea = Idea.objects.select_for_update().get(pk=idea.pk)
    if idea.merged_into_id:
        raise ValidationError(_("This idea was merged; change the status of the idea it was merged into."))
    if idea.status == status:
        raise ValidationError({"status": _("The idea already has this status.")})
    for target in [idea, *Idea.objects.select_for_update().filter(merged_into=idea)]:
        old = target.status
        target.status = status
        if target.first_answered_at is None:
            target.first_answered_at = timezone.now()
        target.save(update_fields=["status", "first_answered_at", "updated_at"])
        event = IdeaEvent.objects.create(
            idea=target, partner_id=target.partner_id, kind=IdeaEvent.Kind.STATUS, author=by, from_status=old, to_status=status, body=note
        )
        _notify_idea(target.pk, event.pk)
    return idea


@transaction.atomic
def idea_reply(*, idea: Idea, by, body: str) -> IdeaEvent:
    """A reply of the channel team (tells the author, answers the idea) or a comment of the partner's users.

    A partner comment tells the channel team (the same people a new post reaches) and does not count
    as an answer: the idea stays among the unanswered until the team replies or changes its status.
    """
    body, error = _clean_text(body, required_message=_("Write a reply."), max_length=REPLY_MAX)
    if error:
        raise ValidationError({"body": error})
    event = IdeaEvent.objects.create(idea=idea, partner_id=idea.partner_id, kind=IdeaEvent.Kind.REPLY, author=by, body=body)
    if by is not None and by.is_staff:
        Idea.objects.filter(pk=idea.pk, first_answered_at__isnull=True).update(first_answered_at=event.created_at)
    if by is None or by.is_staff:
        _notify_idea(idea.pk, event.pk)
    else:
        from .tasks import notify_managers_of_comment

        enqueue_after_commit(notify_managers_of_comment, idea_id=idea.pk, event_id=event.pk)
    return event


@transaction.atomic
def idea_merge(*, idea: Idea, into: Idea, by) -> Idea:
    """Merge a duplicate into another idea; the duplicate then follows the other's status."""
    if idea.pk == into.pk:
        raise ValidationError({"into": _("An idea cannot be merged into itself.")})
    if into.merged_into_id:
        raise ValidationError({"into": _("That idea was itself merged; choose the idea it was merged into.")})
    idea = Idea.objects.select_for_update().get(pk=idea.pk)
    old = idea.status
    idea.merged_into = into
    idea.status = into.status
    if idea.first_answered_at is None:
        idea.first_answered_at = timezone.now()
    idea.save(update_fields=["merged_into", "status", "first_answered_at", "updated_at"])
    Idea.objects.filter(merged_into=idea).update(merged_into=into, status=into.status)
    event = IdeaEvent.objects.create(
        idea=idea, partner_id=idea.partner_id, kind=IdeaEvent.Kind.MERGED, author=by, from_status=old, to_status=into.status
    )
    _notify_idea(idea.pk, event.pk)
    return idea
