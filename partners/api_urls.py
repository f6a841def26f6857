from rest_framework.routers import DefaultRouter

from . import api

router = DefaultRouter()
router.register("partners", api.PartnerViewSet, basename="partner")
router.register("contacts", api.ContactViewSet, basename="contact")
router.register("interactions", api.InteractionViewSet, basename="interaction")
router.register("tiers", api.TierViewSet, basename="tier")
router.register("territories", api.TerritoryViewSet, basename="territory")

urlpatterns = router.urls
