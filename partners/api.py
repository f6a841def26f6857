"""REST API of the partner record (DRF viewsets).

Managers read and write; partner users (session or token) read their own company only. Every
viewset is scoped through `ScopedAPIMixin`, so a partner token sees the same world as the portal.

Sales data (customers, products, sales, monthly rollups) is read-only here: it arrives through the
imports, and `POST /api/v1/sales/bulk/` is the API door to the same import service as the CSV upload.
"""


from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from django.utils.translation import gettext_lazy as _
from django_countries.serializers import CountryFieldMixin
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import permissions, serializers, viewsets
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.serializers import as_serializer_error

from core.filters import SearchFilter

from . import services
from .filters import ContactFilter, InteractionFilter, PartnerFilter
from .models import (
    Contact,
    Interaction,
    InteractionKind,
    Partner,
    PartnerStatus,
    Territory,
    Tier,
)
from .tenancy import ScopedAPIMixin, is_channel_manager


class ManagerWritePartnerRead(permissions.DjangoModelPermissions):
    """Reads for every signed-in user (the scope limits what they see); writes for channel managers
    holding the model permission (the "Channel managers" group may not redefine tiers or territories).
    """

    message = _("Only channel managers with the right permission can change this.")

    def has_permission(self, request, view):
        if not request.user.is_authenticated:
            return False
        if request.method in permissions.SAFE_METHODS or request.method.lower() not in view.http_method_names:
            return True  # reads are scoped; a method the view does not offer answers 405, not 403
        return is_channel_manager(request.user) and super().has_permission(request, view)


class InUse(APIException):
    status_code = 409  # Conflict
    default_detail = _("This is still in use (for example by a partner) and cannot be deleted.")
    default_code = "protected"


def _raise_as_drf(error: DjangoValidationError):
    raise ValidationError(as_serializer_error(error)) from error


class TierSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tier
        fields = ["id", "name", "rank", "colour", "benefits"]


class TerritorySerializer(CountryFieldMixin, serializers.ModelSerializer):
    class Meta:
        model = Territory
        fields = ["id", "name", "parent", "countries"]

    def validate(self, attrs):
        instance = Territory(**{k: v for k, v in attrs.items() if k != "countries"})
        if self.instance:
            instance.pk = self.instance.pk
        try:
            instance.clean()
        except DjangoValidationError as error:
            _raise_as_drf(error)
        return attrs


class PartnerSerializer(CountryFieldMixin, serializers.ModelSerializer):
    # No serializer default: on PUT a default would silently reset an omitted status to onboarding.
    # A new partner without a status starts as onboarding (see `create`).
    status = serializers.ChoiceField(choices=PartnerStatus.choices, required=False)

    class Meta:
        model = Partner
        fields = [
            "id",
            "name",
            "legal_name",
            "parent",
            "partner_type",
            "status",
            "status_changed_at",
            "tier",
            "territory",
            "country",
            "account_manager",
            "joined_on",
            "churned_on",
            "website",
            "external_id",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["status_changed_at", "created_at", "updated_at"]

    def validate_account_manager(self, value):
        if value is not None and not is_channel_manager(value):
            raise serializers.ValidationError(_("The account manager must be a member of the channel team."))
        return value

    def create(self, validated_data):
        status = validated_data.pop("status", PartnerStatus.ONBOARDING)
        try:
            return services.partner_create(created_by=self.context["request"].user, status=status, **validated_data)
        except DjangoValidationError as error:
            _raise_as_drf(error)

    def update(self, instance, validated_data):
        try:
            return services.partner_update(partner=instance, changed_by=self.context["request"].user, **validated_data)
        except DjangoValidationError as error:
            _raise_as_drf(error)


class ContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = ["id", "partner", "first_name", "last_name", "role", "email", "phone", "is_primary", "created_at"]
        read_only_fields = ["created_at"]
        validators = []  # one primary per partner is kept by the service, which demotes the old primary

    def validate(self, attrs):
        if self.instance and "partner" in attrs and attrs["partner"] != self.instance.partner:
            raise ValidationError({"partner": _("A contact cannot move to another partner.")})
        return attrs

    def save(self, **kwargs):
        data = {**self.validated_data, **kwargs}
        partner = data.pop("partner", None) or self.instance.partner
        try:
            self.instance = services.contact_save(partner=partner, contact=self.instance, **data)
        except DjangoValidationError as error:
            _raise_as_drf(error)
        return self.instance


class WritableChoicesField(serializers.ChoiceField):
    """Reads any of `choices`, takes only `writable` ones: the schema says both (one enum per direction)."""

    def __init__(self, *, choices, writable, **kwargs):
        super().__init__(choices=choices, **kwargs)
        self.writable = [value for value, _label in writable]

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value not in self.writable:
            self.fail("invalid_choice", input=data)
        return value


class WritableChoicesFieldExtension(OpenApiSerializerFieldExtension):
    target_class = WritableChoicesField

    def map_serializer_field(self, auto_schema, direction):
        values = self.target.writable if direction == "request" else list(self.target.choices)
        labels = self.target.choices
        return {"type": "string", "enum": values, "description": "\n".join(f"* `{value}` - {labels[value]}" for value in values)}


class InteractionSerializer(serializers.ModelSerializer):
    author = serializers.StringRelatedField(allow_null=True, help_text=_("Empty for entries the system wrote."))
    # System kinds (status changed, training completed...) are written by the app itself, never by hand,
    # but they are read like the others.
    kind = WritableChoicesField(
        choices=InteractionKind.choices, writable=[(kind.value, kind.label) for kind in InteractionKind.manual()]
    )

    class Meta:
        model = Interaction
        fields = ["id", "partner", "kind", "occurred_at", "author", "summary", "details", "is_internal", "created_at"]
        read_only_fields = ["author", "created_at"]

    def create(self, validated_data):
        try:
            return services.interaction_log(author=self.context["request"].user, **validated_data)
        except DjangoValidationError as error:
            _raise_as_drf(error)


class BaseViewSet(ScopedAPIMixin, viewsets.ModelViewSet):
    permission_classes = [ManagerWritePartnerRead]

    def perform_destroy(self, instance):
        try:
            super().perform_destroy(instance)
        except ProtectedError as error:  # a tier or territory that partners still point to
            raise InUse() from error


@extend_schema_view(list=extend_schema(description="Tiers of the partner programme, lowest rank first."))
class TierViewSet(BaseViewSet):
    queryset = Tier.objects.all()
    serializer_class = TierSerializer
    search_fields = ["name"]
    ordering_fields = ["rank", "name"]


class TerritoryViewSet(BaseViewSet):
    queryset = Territory.objects.all()
    serializer_class = TerritorySerializer
    filterset_fields = ["parent"]
    search_fields = ["name"]
    ordering_fields = ["name"]


@extend_schema_view(list=extend_schema(description="Partners; a partner user's token lists only its own company."))
class PartnerViewSet(BaseViewSet):
    serializer_class = PartnerSerializer
    filterset_class = PartnerFilter
    # PartnerFilter owns `?ordering=` (the same sort as the manager UI); DRF's OrderingFilter would
    # read the same parameter with other choices, so it is left out here.
    filter_backends = [DjangoFilterBackend, SearchFilter]
    search_fields = ["name", "legal_name", "external_id"]
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def get_queryset(self):
        return Partner.objects.with_list_relations()


class ContactViewSet(BaseViewSet):
    serializer_class = ContactSerializer
    filterset_class = ContactFilter
    search_fields = ["first_name", "last_name", "email", "role"]
    ordering_fields = ["last_name", "created_at"]

    def get_queryset(self):
        return Contact.objects.select_related("partner")

    def perform_destroy(self, instance):
        services.contact_delete(contact=instance)


class InteractionViewSet(BaseViewSet):
    serializer_class = InteractionSerializer
    filterset_class = InteractionFilter
    search_fields = ["summary", "details"]
    ordering_fields = ["occurred_at"]
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self):
        queryset = Interaction.objects.select_related("author").order_by("-occurred_at", "-id")
        if not is_channel_manager(self.request.user):
            queryset = queryset.visible_to_partner()
        return queryset
