"""REST API of the feedback loop (DRF viewsets), thin over `services` and the scoped managers.

- `surveys`: channel managers create, change and delete surveys (questions and choices are read
  nested); a partner user reads only the surveys of waves it was invited to.
- `waves`: read (partner users: the waves they were invited to); managers schedule a wave through
  `services.wave_create`.
- `responses`: partner users send their answers to one of their own invitations
  (`services.response_submit`); only managers read responses, and never those of anonymous surveys
  (an individual anonymous answer would defeat the five-answer threshold of the results).
- `ideas`: partner users list, post and read their own company's ideas with their history;
  managers see all of them and triage (set status, reply, merge).

Every viewset is scoped through `ScopedAPIMixin`: a partner token sees the same world as the portal.
Permission classes run before the scope is attached to the request, so they ask `tenancy` directly.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Exists, OuterRef, Prefetch
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import filters, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response as APIResponse
from rest_framework.settings import api_settings

from partners.models import PartnerType
from partners.tenancy import ScopedAPIMixin, is_channel_manager, membership_for

from . import services
from .models import (
    Answer,
    Choice,
    Idea,
    IdeaEvent,
    IdeaKind,
    IdeaStatus,
    Invitation,
    Question,
    QuestionKind,
    Response,
    Survey,
    Wave,
)


def _is_partner_user(request):
    return membership_for(request.user) is not None


def _raise_as_drf(error: DjangoValidationError):
    """A service's ValidationError as a 400: field errors by field, the rest under non_field_errors."""
    if hasattr(error, "error_dict"):
        detail = {
            (api_settings.NON_FIELD_ERRORS_KEY if key == "__all__" else key): [str(message) for message in messages]
            for key, messages in error.message_dict.items()
        }
    else:
        detail = {api_settings.NON_FIELD_ERRORS_KEY: [str(message) for message in error.messages]}
    raise ValidationError(detail) from error


class InUse(APIException):
    status_code = 409  # Conflict
    default_detail = _("This survey has waves (and possibly answers); archive it instead of deleting it.")
    default_code = "protected"


class NamedEnumField(serializers.ChoiceField):
    """A choice field documented as one named enum component, shared by every field with the same choices.

    drf-spectacular names enums after the field ("status"): the ideas' status, an event's from/to
    status and the partners' status would collide, and a collision is a schema warning.
    """

    def __init__(self, enum_name, choices, **kwargs):
        self.enum_name = enum_name
        super().__init__(choices=choices, **kwargs)


class NamedEnumFieldExtension(OpenApiSerializerFieldExtension):
    target_class = NamedEnumField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        values = list(field.choices)
        schema = {
            "type": "string",
            "enum": values,
            "description": "\n".join(f"* `{value}` - {label}" for value, label in field.choices.items()),
        }
        component = ResolvedComponent(name=field.enum_name, type=ResolvedComponent.SCHEMA, object=field.enum_name, schema=schema)
        auto_schema.registry.register_on_missing(component)
        if field.allow_blank:
            return {"oneOf": [component.ref, {"type": "string", "enum": [""]}]}
        return component.ref


# --- permissions ----------------------------------------------------------------------------------


class ManagerWriteSignedInRead(permissions.BasePermission):
    """Reads for every signed-in user (the scoped queryset limits what they see); writes for channel managers."""

    message = _("Only channel managers can change this.")

    def has_permission(self, request, view):
        if not request.user.is_authenticated:
            return False
        if request.method in permissions.SAFE_METHODS or request.method.lower() not in view.http_method_names:
            return True  # a method the view does not offer answers 405, not 403
        return is_channel_manager(request.user)


class PartnerUserSubmitsManagerReads(permissions.BasePermission):
    """Responses: partner users send their own answers; only channel managers read answers."""

    def has_permission(self, request, view):
        if not request.user.is_authenticated:
            return False
        if request.method == "POST":
            self.message = _("Only users of a partner company can answer surveys.")
            return _is_partner_user(request)
        if request.method in ("GET", "HEAD"):
            self.message = _("Only channel managers can read survey answers.")
            return is_channel_manager(request.user)
        return True  # OPTIONS describes the endpoint; any other method answers 405


class IdeaPermission(permissions.BasePermission):
    """Ideas: everybody signed in reads (scoped), partner users post, channel managers triage."""

    def has_permission(self, request, view):
        if not request.user.is_authenticated:
            return False
        if request.method in permissions.SAFE_METHODS or request.method.lower() not in view.http_method_names:
            return True
        if view.action == "create":
            self.message = _("Only users of a partner company can post ideas.")
            return _is_partner_user(request)
        self.message = _("Only channel managers can triage ideas.")
        return is_channel_manager(request.user)


# --- surveys --------------------------------------------------------------------------------------


class ChoiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Choice
        fields = ["id", "text", "position"]
        read_only_fields = fields


class QuestionSerializer(serializers.ModelSerializer):
    kind = NamedEnumField("QuestionKindEnum", QuestionKind.choices, read_only=True)
    choices = ChoiceSerializer(many=True, read_only=True)

    class Meta:
        model = Question
        fields = ["id", "kind", "text", "help_text", "is_required", "position", "choices"]
        read_only_fields = fields


class SurveySerializer(serializers.ModelSerializer):
    partner_types = serializers.ListField(
        child=NamedEnumField("PartnerTypeEnum", PartnerType.choices),
        required=False,
        help_text=_("Partner types the survey is meant for; empty: every type."),
    )
    questions = QuestionSerializer(many=True, read_only=True)

    class Meta:
        model = Survey
        fields = [
            "id",
            "title",
            "intro",
            "partner_types",
            "tiers",
            "territories",
            "one_response_per_partner",
            "is_anonymous",
            "max_reminders",
            "reminder_interval_days",
            "recurrence",
            "wave_length_days",
            "is_archived",
            "questions",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    # Writes go through `services.survey_create`/`survey_update` (SurveyViewSet), which hold the
    # anonymity lock: is_anonymous and one_response_per_partner cannot change once a wave exists.


@extend_schema_view(
    list=extend_schema(
        description="Surveys with their questions and choices. Channel managers see every survey; a partner user sees only "
        "the surveys of waves it was invited to."
    ),
    retrieve=extend_schema(description="One survey; a survey the partner user was not invited to answers 404."),
    create=extend_schema(description="Create a survey (channel managers). Questions are added in the manager UI."),
    destroy=extend_schema(
        description="Delete a survey without waves (channel managers); one with waves answers 409: archive it instead.",
        responses={204: None, 409: OpenApiResponse(description="The survey has waves.")},
    ),
)
class SurveyViewSet(ScopedAPIMixin, viewsets.ModelViewSet):
    serializer_class = SurveySerializer
    permission_classes = [ManagerWriteSignedInRead]
    filterset_fields = ["is_archived", "recurrence", "is_anonymous"]
    search_fields = ["title"]
    ordering_fields = ["created_at", "title"]

    def get_queryset(self):
        surveys = Survey.objects.prefetch_related(
            "tiers", "territories", Prefetch("questions", queryset=Question.objects.prefetch_related("choices"))
        ).order_by("-created_at", "-id")
        if getattr(self, "swagger_fake_view", False) or is_channel_manager(self.request.user):
            return surveys
        # Invitation.objects is scoped to the user's partner (empty for anybody without one).
        invited = Invitation.objects.filter(user=self.request.user, wave__survey=OuterRef("pk"))
        return surveys.filter(Exists(invited))

    def perform_create(self, serializer):
        try:
            serializer.instance = services.survey_create(by=self.request.user, **serializer.validated_data)
        except DjangoValidationError as error:
            _raise_as_drf(error)

    def perform_update(self, serializer):
        try:
            serializer.instance = services.survey_update(survey=serializer.instance, **serializer.validated_data)
        except DjangoValidationError as error:
            _raise_as_drf(error)

    def perform_destroy(self, instance):
        try:
            services.survey_delete(survey=instance)
        except DjangoValidationError as error:
            raise InUse() from error


# --- waves ----------------------------------------------------------------------------------------

WAVE_STATES = [("scheduled", _("Scheduled")), ("open", _("Open")), ("closed", _("Closed"))]


class WaveSerializer(serializers.ModelSerializer):
    state = NamedEnumField("WaveStateEnum", WAVE_STATES, read_only=True)

    class Meta:
        model = Wave
        fields = ["id", "survey", "name", "opens_at", "closes_at", "state", "invitations_sent_at", "created_at"]
        read_only_fields = ["invitations_sent_at", "created_at"]
        validators = []  # the service checks the unique name (with a readable message)


@extend_schema_view(
    list=extend_schema(
        description="Waves (rounds) of surveys, newest first. A partner user sees only the waves it was invited to.",
    ),
    retrieve=extend_schema(description="One wave; a wave the partner user was not invited to answers 404."),
    create=extend_schema(
        description="Schedule a wave (channel managers). Invitations are e-mailed when it opens: at once if `opens_at` is "
        "not in the future. The survey needs at least one question; `closes_at` must be after `opens_at` and in the future."
    ),
)
class WaveViewSet(ScopedAPIMixin, viewsets.ModelViewSet):
    serializer_class = WaveSerializer
    permission_classes = [ManagerWriteSignedInRead]
    http_method_names = ["get", "post", "head", "options"]
    filterset_fields = ["survey"]
    search_fields = ["name"]
    ordering_fields = ["opens_at", "closes_at"]

    def get_queryset(self):
        waves = Wave.objects.select_related("survey").order_by("-opens_at", "-id")
        if getattr(self, "swagger_fake_view", False) or is_channel_manager(self.request.user):
            return waves
        return waves.filter(Exists(Invitation.objects.filter(user=self.request.user, wave=OuterRef("pk"))))

    def perform_create(self, serializer):
        try:
            serializer.instance = services.wave_create(**serializer.validated_data, by=self.request.user)
        except DjangoValidationError as error:
            _raise_as_drf(error)


# --- responses ------------------------------------------------------------------------------------


class AnswerSerializer(serializers.ModelSerializer):
    choices = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Answer
        fields = ["question", "number", "choices", "text"]
        read_only_fields = fields


class ResponseSerializer(serializers.ModelSerializer):
    answers = AnswerSerializer(many=True, read_only=True)

    class Meta:
        model = Response
        fields = ["id", "wave", "partner", "user", "submitted_at", "answers"]
        read_only_fields = fields


class ResponseSubmitSerializer(serializers.Serializer):
    invitation = serializers.IntegerField(help_text=_("One of your own invitations (see the portal's survey list)."))
    answers = serializers.DictField(
        child=serializers.JSONField(),
        help_text=_(
            "Answers keyed by question id: a number for NPS (0-10) and rating (1-5) questions, a choice id for a single "
            "choice, a list of choice ids for a multiple choice, a string for free text."
        ),
    )


class ResponseReceiptSerializer(serializers.Serializer):
    invitation = serializers.IntegerField()
    wave = serializers.IntegerField()
    submitted_at = serializers.DateTimeField(help_text=_("Rounded down to the hour for anonymous surveys."))


@extend_schema_field(
    {
        "oneOf": [
            {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            {"type": "array", "items": {"type": "string"}},
        ]
    }
)
class AnswerErrorsField(serializers.JSONField):
    """Messages by question id, or a plain list when `answers` itself is missing or not an object."""


class ResponseErrorSerializer(serializers.Serializer):
    invitation = serializers.ListField(child=serializers.CharField(), required=False)
    answers = AnswerErrorsField(
        required=False, help_text=_("Messages by question id; a list of messages when `answers` is missing or not an object.")
    )
    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False)


def _answer_errors(error: DjangoValidationError):
    """The service's {"q<id>": [...], "__all__": [...]} as {"answers": {"<id>": [...]}, "non_field_errors": [...]}."""
    if not hasattr(error, "error_dict"):
        return {api_settings.NON_FIELD_ERRORS_KEY: [str(message) for message in error.messages]}
    detail = {}
    for key, messages in error.message_dict.items():
        messages = [str(message) for message in messages]
        if key.startswith("q") and key[1:].isdigit():
            detail.setdefault("answers", {})[key[1:]] = messages
        else:
            detail.setdefault(api_settings.NON_FIELD_ERRORS_KEY, []).extend(messages)
    return detail


@extend_schema_view(
    list=extend_schema(
        description="Submitted answers, newest first (channel managers only; partner users get 403). Responses of anonymous "
        "surveys are never listed: their results are shown only for groups of five or more.",
        responses={200: ResponseSerializer(many=True), 403: OpenApiResponse(description="Not a channel manager.")},
    ),
    retrieve=extend_schema(
        description="One response with its answers (channel managers only; partner users get 403).",
        responses={200: ResponseSerializer, 403: OpenApiResponse(description="Not a channel manager."), 404: None},
    ),
)
class ResponseViewSet(ScopedAPIMixin, viewsets.ModelViewSet):
    serializer_class = ResponseSerializer
    permission_classes = [PartnerUserSubmitsManagerReads]
    http_method_names = ["get", "post", "head", "options"]
    filter_backends = [DjangoFilterBackend, filters.OrderingFilter]
    filterset_fields = ["wave", "partner"]
    ordering_fields = ["submitted_at"]

    def get_queryset(self):
        return (
            Response.objects.filter(wave__survey__is_anonymous=False)
            .prefetch_related(Prefetch("answers", queryset=Answer.objects.prefetch_related("choices")))
            .order_by("-submitted_at", "-id")
        )

    @extend_schema(
        summary="Answer a survey",
        description="Send the answers to one of your own open invitations, once (per person, or per company when the survey "
        "takes one answer per company). Partner users only. Required questions need an answer; scores must be in range and "
        "choices must belong to their question. Errors answer 400 with messages by question id under `answers`.",
        request=ResponseSubmitSerializer,
        responses={
            201: ResponseReceiptSerializer,
            400: OpenApiResponse(ResponseErrorSerializer, description="Unknown invitation, invalid answers, closed or already answered."),
            403: OpenApiResponse(description="Not a partner user."),
        },
        examples=[
            OpenApiExample(
                "Answers",
                value={"invitation": 42, "answers": {"7": 9, "8": 4, "9": 31, "10": [33, 35], "11": "Faster quotes"}},
                request_only=True,
            ),
            OpenApiExample(
                "Refused",
                value={"answers": {"7": ["Choose a score from 0 to 10."]}, "non_field_errors": []},
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    def create(self, request, *args, **kwargs):
        serializer = ResponseSubmitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # Scoped to the user's partner *and* to the user: a colleague's invitation is as unknown as another partner's.
        invitation = Invitation.objects.filter(pk=serializer.validated_data["invitation"], user=request.user).first()
        if invitation is None:
            raise ValidationError({"invitation": [_("You have no such invitation.")]})
        try:
            response = services.response_submit(invitation=invitation, data=serializer.validated_data["answers"])
        except DjangoValidationError as error:
            raise ValidationError(_answer_errors(error)) from error
        receipt = {"invitation": invitation.pk, "wave": response.wave_id, "submitted_at": response.submitted_at}
        return APIResponse(ResponseReceiptSerializer(receipt).data, status=status.HTTP_201_CREATED)


# --- ideas ----------------------------------------------------------------------------------------


def _display_name(user):
    return (user.get_full_name() or user.get_username()) if user else ""


class IdeaEventSerializer(serializers.ModelSerializer):
    kind = NamedEnumField("IdeaEventKindEnum", IdeaEvent.Kind.choices, read_only=True)
    from_status = NamedEnumField("IdeaStatusEnum", IdeaStatus.choices, allow_blank=True, read_only=True)
    to_status = NamedEnumField("IdeaStatusEnum", IdeaStatus.choices, allow_blank=True, read_only=True)
    author_name = serializers.SerializerMethodField()

    class Meta:
        model = IdeaEvent
        fields = ["id", "kind", "author_name", "from_status", "to_status", "body", "created_at"]
        read_only_fields = fields

    def get_author_name(self, event) -> str:
        return _display_name(event.author)


class IdeaSerializer(serializers.ModelSerializer):
    kind = NamedEnumField("IdeaKindEnum", IdeaKind.choices, default=IdeaKind.IDEA)
    status = NamedEnumField("IdeaStatusEnum", IdeaStatus.choices, read_only=True)
    author_name = serializers.SerializerMethodField()
    events = IdeaEventSerializer(many=True, read_only=True)

    class Meta:
        model = Idea
        fields = [
            "id",
            "partner",
            "author_name",
            "kind",
            "title",
            "body",
            "status",
            "merged_into",
            "first_answered_at",
            "created_at",
            "updated_at",
            "events",
        ]
        read_only_fields = ["partner", "merged_into", "first_answered_at", "created_at", "updated_at"]
        extra_kwargs = {"body": {"max_length": services.IDEA_BODY_MAX}}

    def get_author_name(self, idea) -> str:
        return _display_name(idea.author)


class IdeaStatusInputSerializer(serializers.Serializer):
    status = NamedEnumField("IdeaStatusEnum", IdeaStatus.choices)
    note = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=services.REPLY_MAX, help_text=_("Shown to the partner with the change.")
    )


class IdeaReplyInputSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=services.REPLY_MAX)


class IdeaMergeInputSerializer(serializers.Serializer):
    into = serializers.IntegerField(help_text=_("The idea this one duplicates."))


_TRIAGE_ERRORS = {
    400: OpenApiResponse(description="Refused by the rules (same status, merged idea, ...)."),
    403: OpenApiResponse(description="Not a channel manager."),
    404: OpenApiResponse(description="No such idea."),
}


@extend_schema_view(
    list=extend_schema(
        description="Ideas, concerns and questions with their history. A partner user sees only its own company's posts; "
        "channel managers see every post."
    ),
    retrieve=extend_schema(description="One post with its history; another partner's post answers 404 to a partner user."),
    create=extend_schema(description="Post an idea, a concern or a question for your company (partner users only)."),
)
class IdeaViewSet(ScopedAPIMixin, viewsets.ModelViewSet):
    serializer_class = IdeaSerializer
    permission_classes = [IdeaPermission]
    http_method_names = ["get", "post", "head", "options"]
    filterset_fields = ["status", "kind", "partner"]
    search_fields = ["title", "body"]
    ordering_fields = ["created_at", "updated_at"]

    def get_queryset(self):
        # Idea.objects and IdeaEvent.objects are scoped: a partner user's scope holds its own company only.
        return Idea.objects.select_related("author").prefetch_related(
            Prefetch("events", queryset=IdeaEvent.objects.select_related("author").order_by("created_at", "id"))
        )

    def perform_create(self, serializer):
        try:
            serializer.instance = services.idea_post(partner=self.request.partner, author=self.request.user, **serializer.validated_data)
        except DjangoValidationError as error:
            _raise_as_drf(error)

    def _idea_response(self, idea):
        return APIResponse(self.get_serializer(self.get_queryset().get(pk=idea.pk)).data)

    @extend_schema(
        summary="Change the status of an idea",
        description="Channel managers only. Ideas merged into this one follow; each author is notified by e-mail.",
        request=IdeaStatusInputSerializer,
        responses={200: IdeaSerializer, **_TRIAGE_ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="set-status")
    def set_status(self, request, pk=None):
        idea = self.get_object()
        data = self._input(IdeaStatusInputSerializer, request)
        try:
            services.idea_set_status(idea=idea, status=data["status"], by=request.user, note=data["note"])
        except DjangoValidationError as error:
            _raise_as_drf(error)
        return self._idea_response(idea)

    @extend_schema(
        summary="Reply to an idea",
        description="Channel managers only; the author is notified by e-mail.",
        request=IdeaReplyInputSerializer,
        responses={201: IdeaEventSerializer, **_TRIAGE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def reply(self, request, pk=None):
        idea = self.get_object()
        data = self._input(IdeaReplyInputSerializer, request)
        try:
            event = services.idea_reply(idea=idea, by=request.user, body=data["body"])
        except DjangoValidationError as error:
            _raise_as_drf(error)
        return APIResponse(IdeaEventSerializer(event).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Merge a duplicate into another idea",
        description="Channel managers only. The duplicate takes the other idea's status and follows it from then on.",
        request=IdeaMergeInputSerializer,
        responses={200: IdeaSerializer, **_TRIAGE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        idea = self.get_object()
        data = self._input(IdeaMergeInputSerializer, request)
        into = Idea.objects.filter(pk=data["into"]).first()
        if into is None:
            raise ValidationError({"into": [_("No such idea.")]})
        try:
            services.idea_merge(idea=idea, into=into, by=request.user)
        except DjangoValidationError as error:
            _raise_as_drf(error)
        return self._idea_response(idea)

    @staticmethod
    def _input(serializer_class, request):
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data
