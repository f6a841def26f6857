from rest_framework.routers import DefaultRouter

from . import api

# Included under /api/v1/ next to partners.api_urls, whose router serves the API root page.
router = DefaultRouter()
router.include_root_view = False
router.register("programs", api.ProgramViewSet, basename="program")
router.register("earnings", api.EarningLineViewSet, basename="earningline")
router.register("payouts", api.PayoutViewSet, basename="payout")
router.register("rewards", api.RewardViewSet, basename="reward")
router.register("redemptions", api.RedemptionViewSet, basename="redemption")

urlpatterns = router.urls
