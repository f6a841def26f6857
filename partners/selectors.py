"""Reads of the partner record for pages, API calls and jobs, each in a fixed number of queries."""

from django.contrib.auth import get_user_model
from django.db.models import Count, Prefetch, Q

from .filters import PartnerFilter
from .models import ApplicationStatus, Contact, Interaction, Membership, Partner, PartnerApplication


def partner_list(*, params, request):
    """The filtered manager partner list; returns the FilterSet (its `.qs` is the page source)."""
    queryset = (
        Partner.objects.with_list_relations()
        .annotate(contact_count=Count("contacts", distinct=True), reseller_count=Count("resellers", distinct=True))
        .order_by("name", "pk")
    )
    filterset = PartnerFilter(params, queryset=queryset, request=request)
    return filterset


def partner_detail(*, pk) -> Partner:
    """One partner with what its detail page shows; raises Partner.DoesNotExist outside the scope."""
    return (
        Partner.objects.with_list_relations()
        .prefetch_related(
            Prefetch("contacts", queryset=Contact.objects.all()),
            Prefetch("memberships", queryset=Membership.objects.select_related("user", "invited_by")),
            Prefetch("resellers", queryset=Partner.objects.select_related("tier").order_by("name")),
        )
        .get(pk=pk)
    )


def partner_profile(*, pk) -> Partner:
    """One partner with only what its portal profile shows (no contacts, members or resellers)."""
    return Partner.objects.with_list_relations().get(pk=pk)


def account_manager_choices():
    """Who can be a partner's account manager: active channel managers and superusers."""
    from .tenancy import MANAGER_GROUP

    return (
        get_user_model()
        .objects.filter(Q(groups__name=MANAGER_GROUP) | Q(is_superuser=True), is_active=True, is_staff=True)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def partner_timeline(*, partner, include_internal: bool):
    queryset = Interaction.objects.for_partner(partner).timeline()
    if not include_internal:
        queryset = queryset.visible_to_partner()
    return queryset


def application_list(*, status=ApplicationStatus.PENDING):
    queryset = PartnerApplication.objects.select_related("decided_by", "partner")
    if status:
        queryset = queryset.filter(status=status)
    return queryset


def application_counts():
    return PartnerApplication.objects.aggregate(
        pending=Count("id", filter=Q(status=ApplicationStatus.PENDING)),
        accepted=Count("id", filter=Q(status=ApplicationStatus.ACCEPTED)),
        declined=Count("id", filter=Q(status=ApplicationStatus.DECLINED)),
    )


def team_for(*, partner):
    return Membership.objects.for_partner(partner).select_related("user", "invited_by")
