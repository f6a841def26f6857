"""The partner self-service portal.

Every view derives the partner from the signed-in user (never from the URL or the payload), and
every object lookup goes through `for_partner(...)` inside the active scope, so another partner's
object answers 404 exactly like one that does not exist.
"""

from django.contrib import messages
from django.contrib.auth.mixins import AccessMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from partners import selectors, services
from partners.forms import ContactForm, MemberInviteForm
from partners.models import Contact, Membership


class PartnerUserRequiredMixin(AccessMixin):
    """Signed-in members of a partner; `admin_only` further requires the partner-admin role."""

    admin_only = False

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if request.partner is None:
            if request.is_channel_manager:
                messages.info(request, _("The portal is for partner users; you are signed in as a channel manager."))
                return redirect("home")
            raise PermissionDenied(_("Your account is not linked to a partner company."))
        if self.admin_only and not request.membership.is_admin:
            raise PermissionDenied(_("Only your company's partner admins can do this."))
        self.partner = request.partner
        return super().dispatch(request, *args, **kwargs)


class PortalHomeView(PartnerUserRequiredMixin, View):
    def get(self, request):
        partner = selectors.partner_profile(pk=self.partner.pk)
        recent = selectors.partner_timeline(partner=partner, include_internal=False)[:5]
        return render(request, "portal/home.html", {"partner": partner, "recent": recent})


class ActivityView(PartnerUserRequiredMixin, View):
    def get(self, request):
        timeline = selectors.partner_timeline(partner=self.partner, include_internal=False)
        page_obj = Paginator(timeline, 25).get_page(request.GET.get("page"))
        return render(request, "portal/activity.html", {"page_obj": page_obj})


class ContactListView(PartnerUserRequiredMixin, View):
    def get(self, request):
        contacts = Contact.objects.for_partner(self.partner)
        return render(request, "portal/contacts.html", {"contacts": contacts})


class ContactFormView(PartnerUserRequiredMixin, View):
    admin_only = True

    def _contact(self, pk):
        return get_object_or_404(Contact.objects.for_partner(self.partner), pk=pk) if pk else None

    def get(self, request, pk=None):
        contact = self._contact(pk)
        return render(request, "portal/contact_form.html", {"form": ContactForm(instance=contact), "contact": contact})

    def post(self, request, pk=None):
        contact = self._contact(pk)
        form = ContactForm(request.POST, instance=contact or Contact(partner=self.partner))
        if form.is_valid():
            try:
                services.contact_save(partner=self.partner, contact=contact, **form.cleaned_data)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("Contact saved."))
                return redirect("portal:contacts")
        return render(request, "portal/contact_form.html", {"form": form, "contact": contact}, status=400)


class ContactDeleteView(PartnerUserRequiredMixin, View):
    admin_only = True

    def get(self, request, pk):
        contact = get_object_or_404(Contact.objects.for_partner(self.partner), pk=pk)
        return render(request, "confirm_delete.html", {"object": contact, "cancel_url": reverse("portal:contacts")})

    def post(self, request, pk):
        contact = get_object_or_404(Contact.objects.for_partner(self.partner), pk=pk)
        services.contact_delete(contact=contact)
        messages.success(request, _("Contact %(name)s deleted.") % {"name": contact.full_name})
        return redirect("portal:contacts")


class TeamView(PartnerUserRequiredMixin, View):
    def get(self, request):
        return render(request, "portal/team.html", {"members": selectors.team_for(partner=self.partner)})


class TeamInviteView(PartnerUserRequiredMixin, View):
    admin_only = True

    def get(self, request):
        return render(request, "portal/team_invite.html", {"form": MemberInviteForm()})

    def post(self, request):
        form = MemberInviteForm(request.POST)
        if form.is_valid():
            try:
                membership = services.membership_invite(partner=self.partner, invited_by=request.user, **form.cleaned_data)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("Invitation sent to %(email)s.") % {"email": membership.user.email})
                return redirect("portal:team")
        return render(request, "portal/team_invite.html", {"form": form}, status=400)


class TeamSetActiveView(PartnerUserRequiredMixin, View):
    """A partner admin deactivates or reactivates a colleague (POST, confirmed in the page)."""

    admin_only = True

    def post(self, request, pk):
        membership = get_object_or_404(Membership.objects.for_partner(self.partner).select_related("user", "partner"), pk=pk)
        active = request.POST.get("active") == "1"
        try:
            services.membership_set_active(membership=membership, active=active, by=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            name = membership.user.get_full_name() or membership.user.email
            messages.success(
                request, (_("%(name)s can sign in again.") if active else _("%(name)s can no longer sign in.")) % {"name": name}
            )
        return redirect("portal:team")


class TeamResendInvitationView(PartnerUserRequiredMixin, View):
    """A partner admin sends a colleague's invitation again (the link in the first one expired)."""

    admin_only = True

    def post(self, request, pk):
        membership = get_object_or_404(Membership.objects.for_partner(self.partner).select_related("user"), pk=pk)
        try:
            services.membership_resend_invitation(membership=membership, by=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("The invitation was sent again to %(email)s.") % {"email": membership.user.email})
        return redirect("portal:team")
