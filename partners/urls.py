from django.urls import path

from . import views

app_name = "partners"

urlpatterns = [
    path("", views.PartnerListView.as_view(), name="list"),
    path("new/", views.PartnerCreateView.as_view(), name="create"),
    path("<int:pk>/", views.PartnerDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.PartnerUpdateView.as_view(), name="edit"),
    path("<int:pk>/interactions/", views.InteractionCreateView.as_view(), name="interaction_create"),
    path("<int:pk>/contacts/new/", views.ContactFormView.as_view(), name="contact_create"),
    path("<int:pk>/contacts/<int:contact_pk>/edit/", views.ContactFormView.as_view(), name="contact_edit"),
    path("<int:pk>/contacts/<int:contact_pk>/delete/", views.ContactDeleteView.as_view(), name="contact_delete"),
    path("<int:pk>/members/invite/", views.MemberInviteView.as_view(), name="member_invite"),
    path("<int:pk>/members/<int:membership_pk>/active/", views.member_set_active, name="member_set_active"),
    path("<int:pk>/members/<int:membership_pk>/resend/", views.MemberResendInvitationView.as_view(), name="member_resend_invitation"),
    path("applications/", views.ApplicationListView.as_view(), name="applications"),
    path("applications/<int:pk>/", views.ApplicationDetailView.as_view(), name="application_detail"),
    path("applications/<int:pk>/accept/", views.ApplicationDecideView.as_view(decision="accept"), name="application_accept"),
    path("applications/<int:pk>/decline/", views.ApplicationDecideView.as_view(decision="decline"), name="application_decline"),
]
