"""REST API of kpis (DRF), thin over `selectors` and `services`.

- `scores`: loyalty-score snapshots, read. Channel managers see every partner's; a partner user
  only its own company's (the scoped manager), the same figures as the portal scorecard.
- `score-alerts`: at-risk alerts, for channel managers only (they are the account manager's
  signal about a partner, not the partner's); `acknowledge` marks one as seen.
- `kpis/overview`: the channel overview's headline KPIs for a period and filters, for channel
  managers, validated by the page's own filter form (a bad value is a 400 naming the field).
"""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, views, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings

from incentives.filters import IdFilter
from partners.tenancy import ScopedAPIMixin, is_channel_manager

from . import selectors, services
from .forms import PRESETS, OverviewFilterForm
from .models import Alert, AlertKind, Band, ScoreSnapshot


class SignedInRead(permissions.BasePermission):
    """Reads for every signed-in user; what they see is the scoped queryset."""

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated)


class ChannelManagersOnly(permissions.BasePermission):
    message = _("Only channel managers can do this.")

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and is_channel_manager(request.user))


class ScoreSnapshotSerializer(serializers.ModelSerializer):
    score_model_version = serializers.IntegerField(source="score_model.version", read_only=True)

    class Meta:
        model = ScoreSnapshot
        fields = ["id", "partner", "date", "score", "band", "score_model_version", "components", "computed_at"]
        read_only_fields = fields


class ScoreSnapshotFilter(filters.FilterSet):
    """Every filter declared: one generated over the partner foreign key would query the scoped partners at import."""

    partner = IdFilter(field_name="partner_id", label=_("Partner ID"))
    date = filters.DateFilter(field_name="date")
    date_from = filters.DateFilter(field_name="date", lookup_expr="gte")
    date_to = filters.DateFilter(field_name="date", lookup_expr="lte")
    band = filters.ChoiceFilter(choices=Band.choices)

    class Meta:
        model = ScoreSnapshot
        fields = ["partner", "date", "date_from", "date_to", "band"]


class ScoreSnapshotViewSet(ScopedAPIMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = ScoreSnapshotSerializer
    permission_classes = [SignedInRead]
    filterset_class = ScoreSnapshotFilter
    ordering_fields = ["date", "score"]

    def get_queryset(self):
        # ScoreSnapshot.objects is scoped: a partner user's scope holds its own partner only.
        return ScoreSnapshot.objects.select_related("score_model").order_by("-date", "partner_id")


class AlertSerializer(serializers.ModelSerializer):
    class Meta:
        model = Alert
        fields = [
            "id",
            "partner",
            "date",
            "kind",
            "score",
            "reference_score",
            "message",
            "components",
            "notified_at",
            "acknowledged_at",
            "acknowledged_by",
            "created_at",
        ]
        read_only_fields = fields


class AlertFilter(filters.FilterSet):
    partner = IdFilter(field_name="partner_id", label=_("Partner ID"))
    kind = filters.ChoiceFilter(choices=AlertKind.choices)
    date = filters.DateFilter(field_name="date")
    date_from = filters.DateFilter(field_name="date", lookup_expr="gte")
    open = filters.BooleanFilter(field_name="acknowledged_at", lookup_expr="isnull", label=_("not acknowledged yet"))

    class Meta:
        model = Alert
        fields = ["partner", "kind", "date", "date_from", "open"]


class AlertViewSet(ScopedAPIMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = AlertSerializer
    permission_classes = [ChannelManagersOnly]
    filterset_class = AlertFilter

    def get_queryset(self):
        return Alert.objects.order_by("-date", "-id")

    @extend_schema(request=None, responses={200: AlertSerializer, 403: OpenApiResponse(description="Not a channel manager.")})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        """Mark the alert as seen; acknowledging twice keeps the first."""
        alert = services.alert_acknowledge(alert=self.get_object(), user=request.user)
        return Response(AlertSerializer(alert).data)


FILTER_PARAMETERS = [
    OpenApiParameter("period", OpenApiTypes.STR, enum=[value for value, _label in PRESETS], description="Default: quarter."),
    OpenApiParameter("start", OpenApiTypes.DATE, description="First day of a custom period."),
    OpenApiParameter("end", OpenApiTypes.DATE, description="Last day of a custom period."),
    OpenApiParameter("territory", OpenApiTypes.INT),
    OpenApiParameter("tier", OpenApiTypes.INT),
    OpenApiParameter("partner_type", OpenApiTypes.STR),
    OpenApiParameter("account_manager", OpenApiTypes.INT),
]


class ChannelOverviewView(ScopedAPIMixin, views.APIView):
    """The headline KPIs of the channel overview page, each with the previous period and the change."""

    permission_classes = [ChannelManagersOnly]

    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses={
            200: OpenApiTypes.OBJECT,
            400: OpenApiResponse(description="A filter is wrong; the body names it."),
            403: OpenApiResponse(description="Not a channel manager."),
        },
    )
    def get(self, request):
        data = request.query_params.copy()
        data.setdefault("period", "quarter")
        form = OverviewFilterForm(data, today=timezone.localdate())
        if not form.is_valid():
            errors = form.errors.items()
            raise ValidationError({(api_settings.NON_FIELD_ERRORS_KEY if key == "__all__" else key): list(value) for key, value in errors})
        services.channel_cube_ensure()
        start, end = form.period_dates
        overview = selectors.channel_overview(period_start=start, period_end=end, filters=form.filters())
        return Response(
            {
                "period": {"start": overview["period"].start, "end": overview["period"].last_day},
                "previous_period": {"start": overview["previous_period"].start, "end": overview["previous_period"].last_day},
                "filters": form.filters(),
                "figures_as_of": overview["built_at"],
                "kpis": overview["kpis"],
            }
        )
