"""REST API of incentives (DRF viewsets), thin over `services` and `selectors`.

- `programs`: read. Channel managers see every program; a partner user only the programs it is
  eligible for that are running or were (drafts are never shown to partners), with their rules and
  the plain-language explanation of each.
- `earnings`: the earnings ledger, read; a partner user sees only its own lines.
- `payouts`: read (scoped); channel managers approve, mark paid and reject with POST actions.
- `rewards`: the reward catalog, read; a partner user sees the active rewards of its tier.
- `redemptions`: a partner user redeems a reward for its own partner (POST) and reads its own;
  channel managers approve, reject (refund) and fulfil.

Every viewset is scoped through `ScopedAPIMixin`: a partner token sees the same world as the portal.
Manager actions check `is_channel_manager` in the permission class, before the body is read.
Every money or points write (redeem, approve/reject/fulfil a redemption, approve/mark paid/reject a
payout) honours the `Idempotency-Key` header (`partners.idempotency.idempotent`).
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings

from partners.idempotency import idempotent
from partners.tenancy import ScopedAPIMixin, is_channel_manager, membership_for

from . import selectors, services
from .filters import EarningLineFilter, PayoutFilter, RedemptionFilter
from .models import (
    EarningBasis,
    EarningLine,
    LineKind,
    Payout,
    PayoutStatus,
    PeriodKind,
    Program,
    ProgramStatus,
    Redemption,
    RedemptionStatus,
    Reward,
    RewardKind,
    RewardType,
    Rule,
    RuleKind,
)


def enum_field(choices, **kwargs):
    """A choice field documented with an inline enum: several models here have a `status` or `kind`,
    and drf-spectacular would name all of them `StatusEnum`/`KindEnum` (a collision, and a warning)."""
    schema = {
        "type": "string",
        "enum": [value for value, _label in choices],
        "description": "\n".join(f"* `{value}` - {label}" for value, label in choices),
    }
    field_class = extend_schema_field(schema)(type("InlineEnumField", (serializers.ChoiceField,), {}))
    return field_class(choices=choices, **kwargs)


def _raise_as_drf(error: DjangoValidationError, *, field=None):
    """A service's ValidationError as a 400 naming the field: by field, or under `field` (or non_field_errors)."""
    if hasattr(error, "error_dict"):
        detail = {
            (field or api_settings.NON_FIELD_ERRORS_KEY if key == "__all__" else key): [str(message) for message in messages]
            for key, messages in error.message_dict.items()
        }
    else:
        detail = {field or api_settings.NON_FIELD_ERRORS_KEY: [str(message) for message in error.messages]}
    raise ValidationError(detail) from error


def _input(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- permissions ------------------------------------------------------------------------------


class IncentivePermission(permissions.BasePermission):
    """Reads for every signed-in user (the scoped queryset limits what they see); `create` for partner
    users when the view allows it (`partner_creates`); every other write for channel managers."""

    def has_permission(self, request, view):
        if not request.user.is_authenticated:
            return False
        if request.method in permissions.SAFE_METHODS or request.method.lower() not in view.http_method_names:
            return True  # a method the view does not offer answers 405, not 403
        if view.action == "create" and getattr(view, "partner_creates", False):
            self.message = _("Only users of a partner company can redeem rewards.")
            return membership_for(request.user) is not None
        self.message = _("Only channel managers can do this.")
        return is_channel_manager(request.user)


class IncentiveViewSet(ScopedAPIMixin, viewsets.ReadOnlyModelViewSet):
    permission_classes = [IncentivePermission]

    @property
    def is_manager(self):
        return getattr(self, "swagger_fake_view", False) or is_channel_manager(self.request.user)

    @property
    def partner(self):
        return getattr(self.request, "partner", None)


_ACTION_ERRORS = {
    400: OpenApiResponse(description="Refused by the rules (wrong status, missing reference or reason); the body names the field."),
    403: OpenApiResponse(description="Not a channel manager."),
    404: OpenApiResponse(description="No such object."),
}


# --- programs ---------------------------------------------------------------------------------


class RuleSerializer(serializers.ModelSerializer):
    kind = enum_field(RuleKind.choices, read_only=True)
    explanation = serializers.SerializerMethodField(help_text=_("The rule in plain language, as partners read it."))

    class Meta:
        model = Rule
        fields = ["id", "kind", "name", "params", "explanation", "position"]
        read_only_fields = fields

    def get_explanation(self, rule) -> str:
        return rule.explanation


class ProgramSerializer(serializers.ModelSerializer):
    period = enum_field(PeriodKind.choices, read_only=True)
    earning_basis = enum_field(EarningBasis.choices, read_only=True)
    status = enum_field(ProgramStatus.choices, read_only=True)
    rules = RuleSerializer(many=True, read_only=True)

    class Meta:
        model = Program
        fields = ["id", "name", "description", "period", "starts_on", "ends_on", "earning_basis", "status", "budget", "rules"]
        read_only_fields = fields

    def get_fields(self):
        fields = super().get_fields()
        fields["budget"].allow_null = True
        fields["budget"].help_text = _("Channel managers only: null for partner users (the budget is the vendor's business).")
        return fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is not None and not is_channel_manager(request.user):
            data["budget"] = None
        return data


@extend_schema_view(
    list=extend_schema(
        description="Incentive programs with their rules explained. Channel managers see every program; a partner user "
        "sees the running and closed programs it is eligible for (never drafts, never the budget)."
    ),
    retrieve=extend_schema(description="One program; a program the partner is not eligible for answers 404."),
)
class ProgramViewSet(IncentiveViewSet):
    serializer_class = ProgramSerializer
    filterset_fields = ["status", "period"]
    search_fields = ["name", "description"]
    ordering_fields = ["starts_on", "name"]

    def get_queryset(self):
        programs = Program.objects.prefetch_related("rules").order_by("-starts_on", "name", "pk")
        if self.is_manager:
            return programs
        if self.partner is None:
            return programs.none()
        return programs.exclude(status=ProgramStatus.DRAFT).reaching(self.partner)


# --- earnings ---------------------------------------------------------------------------------


class EarningLineSerializer(serializers.ModelSerializer):
    kind = enum_field(LineKind.choices, read_only=True)
    reward_type = enum_field(RewardType.choices, read_only=True)
    period_starts_on = serializers.DateField(source="period.starts_on", read_only=True)
    period_ends_on = serializers.DateField(source="period.ends_on", read_only=True)

    class Meta:
        model = EarningLine
        fields = [
            "id",
            "partner",
            "program",
            "period",
            "period_starts_on",
            "period_ends_on",
            "rule",
            "kind",
            "reward_type",
            "amount",
            "points",
            "reason",
            "detail",
            "payout",
            "created_at",
        ]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(description="The earnings ledger, newest first, each line with its reason. A partner user sees its own lines."),
    retrieve=extend_schema(description="One earning line; another partner's line answers 404."),
)
class EarningLineViewSet(IncentiveViewSet):
    serializer_class = EarningLineSerializer
    filterset_class = EarningLineFilter
    ordering_fields = ["created_at", "amount", "points"]

    def get_queryset(self):
        # EarningLine.objects is scoped: a partner user's scope holds its own partner only.
        return EarningLine.objects.select_related("period").order_by("-created_at", "-id")


# --- payouts ----------------------------------------------------------------------------------


class PayoutSerializer(serializers.ModelSerializer):
    status = enum_field(PayoutStatus.choices, read_only=True)

    class Meta:
        model = Payout
        fields = [
            "id",
            "partner",
            "program",
            "amount",
            "status",
            "reference",
            "reason",
            "line_ids",
            "created_at",
            "approved_at",
            "paid_at",
            "rejected_at",
        ]
        read_only_fields = fields


class MarkPaidInputSerializer(serializers.Serializer):
    reference = serializers.CharField(max_length=120, help_text=_("The bank or ERP reference of the transfer."))


class ReasonInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


@extend_schema_view(
    list=extend_schema(description="Payouts, newest first. A partner user sees its own payouts."),
    retrieve=extend_schema(description="One payout; another partner's payout answers 404."),
)
class PayoutViewSet(IncentiveViewSet):
    serializer_class = PayoutSerializer
    filterset_class = PayoutFilter
    ordering_fields = ["created_at", "amount"]
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self):
        return Payout.objects.order_by("-created_at", "-id")

    def _done(self, payout):
        return Response(self.get_serializer(payout).data)

    @idempotent
    @extend_schema(
        summary="Approve a payout",
        description="Channel managers only: pending -> approved. Audited.",
        request=None,
        responses={200: PayoutSerializer, **_ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        payout = self.get_object()
        try:
            payout = services.payout_approve(payout=payout, by=request.user)
        except DjangoValidationError as error:
            _raise_as_drf(error)
        return self._done(payout)

    @idempotent
    @extend_schema(
        summary="Mark a payout paid",
        description="Channel managers only: approved -> paid, with the payment reference. Audited.",
        request=MarkPaidInputSerializer,
        responses={200: PayoutSerializer, **_ACTION_ERRORS},
        examples=[OpenApiExample("Refused", value={"reference": ["This field is required."]}, response_only=True, status_codes=["400"])],
    )
    @action(detail=True, methods=["post"], url_path="mark-paid")
    def mark_paid(self, request, pk=None):
        payout = self.get_object()
        data = _input(MarkPaidInputSerializer, request)
        try:
            payout = services.payout_mark_paid(payout=payout, by=request.user, reference=data["reference"])
        except DjangoValidationError as error:
            _raise_as_drf(error)
        return self._done(payout)

    @idempotent
    @extend_schema(
        summary="Reject a payout",
        description="Channel managers only: pending or approved -> rejected, with the reason; its earnings return to the unpaid lines.",
        request=ReasonInputSerializer,
        responses={200: PayoutSerializer, **_ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        payout = self.get_object()
        data = _input(ReasonInputSerializer, request)
        try:
            payout = services.payout_reject(payout=payout, by=request.user, reason=data["reason"])
        except DjangoValidationError as error:
            _raise_as_drf(error)
        return self._done(payout)


# --- rewards ----------------------------------------------------------------------------------


class RewardSerializer(serializers.ModelSerializer):
    kind = enum_field(RewardKind.choices, read_only=True)

    class Meta:
        model = Reward
        fields = ["id", "name", "description", "kind", "points_cost", "stock", "tiers", "approval_threshold", "is_active"]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(description="The reward catalog. A partner user sees the active rewards available to its tier."),
    retrieve=extend_schema(description="One reward; a reward not available to the partner's tier answers 404."),
)
class RewardViewSet(IncentiveViewSet):
    serializer_class = RewardSerializer
    filterset_fields = ["kind", "is_active"]
    search_fields = ["name", "description"]
    ordering_fields = ["points_cost", "name"]

    def get_queryset(self):
        if self.is_manager:
            return Reward.objects.prefetch_related("tiers").order_by("points_cost", "name", "pk")
        if self.partner is None:
            return Reward.objects.none()
        return selectors.rewards_for(partner=self.partner).order_by("points_cost", "name", "pk")


# --- redemptions ------------------------------------------------------------------------------


class RedemptionSerializer(serializers.ModelSerializer):
    status = enum_field(RedemptionStatus.choices, read_only=True)
    reward_name = serializers.CharField(source="reward.name", read_only=True)

    class Meta:
        model = Redemption
        fields = ["id", "partner", "reward", "reward_name", "points", "status", "reason", "created_at", "decided_at", "fulfilled_at"]
        read_only_fields = fields


class RedeemInputSerializer(serializers.Serializer):
    reward = serializers.IntegerField(help_text=_("A reward of the catalog available to your tier."))


@extend_schema_view(
    list=extend_schema(description="Redemptions, newest first. A partner user sees its own company's."),
    retrieve=extend_schema(description="One redemption; another partner's redemption answers 404."),
)
class RedemptionViewSet(IncentiveViewSet):
    serializer_class = RedemptionSerializer
    filterset_class = RedemptionFilter
    ordering_fields = ["created_at", "points"]
    http_method_names = ["get", "post", "head", "options"]
    partner_creates = True

    def get_queryset(self):
        return Redemption.objects.select_related("reward").order_by("-created_at", "-id")

    @idempotent
    @extend_schema(
        summary="Redeem a reward",
        description="Partner users only, for their own partner. The points leave the balance at once; a redemption of at "
        "least the approval threshold waits for a channel manager (`pending_approval`). Refusals answer 400 under `reward` "
        "(unknown or not available to your tier, not enough points, out of stock).",
        request=RedeemInputSerializer,
        responses={
            201: RedemptionSerializer,
            400: OpenApiResponse(description="Refused; the body names the field."),
            403: OpenApiResponse(description="Not a partner user."),
        },
        examples=[
            OpenApiExample("Redeem", value={"reward": 12}, request_only=True),
            OpenApiExample(
                "Refused",
                value={"reward": ["Not enough points: 5,000 needed, 1,200 available."]},
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    def create(self, request, *args, **kwargs):
        data = _input(RedeemInputSerializer, request)
        partner = request.partner
        # A reward of another tier is refused exactly like one that does not exist.
        reward = selectors.rewards_for(partner=partner).filter(pk=data["reward"]).first()
        if reward is None:
            raise ValidationError({"reward": [_("No such reward is available to you.")]})
        try:
            redemption = services.redemption_request(partner=partner, user=request.user, reward=reward)
        except DjangoValidationError as error:
            _raise_as_drf(error, field="reward")
        return Response(self.get_serializer(redemption).data, status=status.HTTP_201_CREATED)

    def _done(self, redemption):
        return Response(self.get_serializer(redemption).data)

    @idempotent
    @extend_schema(
        summary="Approve a redemption",
        description="Channel managers only: pending_approval -> approved.",
        request=None,
        responses={200: RedemptionSerializer, **_ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        redemption = self.get_object()
        try:
            redemption = services.redemption_approve(redemption=redemption, by=request.user)
        except DjangoValidationError as error:
            _raise_as_drf(error)
        return self._done(redemption)

    @idempotent
    @extend_schema(
        summary="Reject a redemption",
        description="Channel managers only: the points go back to the partner and the item back to stock.",
        request=ReasonInputSerializer,
        responses={200: RedemptionSerializer, **_ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        redemption = self.get_object()
        data = _input(ReasonInputSerializer, request)
        try:
            redemption = services.redemption_reject(redemption=redemption, by=request.user, reason=data["reason"])
        except DjangoValidationError as error:
            _raise_as_drf(error)
        return self._done(redemption)

    @idempotent
    @extend_schema(
        summary="Mark a redemption fulfilled",
        description="Channel managers only: approved -> fulfilled (the reward was delivered).",
        request=None,
        responses={200: RedemptionSerializer, **_ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def fulfil(self, request, pk=None):
        redemption = self.get_object()
        try:
            redemption = services.redemption_fulfil(redemption=redemption, by=request.user)
        except DjangoValidationError as error:
            _raise_as_drf(error)
        return self._done(redemption)
