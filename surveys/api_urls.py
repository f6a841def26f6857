from rest_framework.routers import DefaultRouter

from . import api

# Included under /api/v1/ next to partners.api_urls, whose router serves the API root page.
router = DefaultRouter()
router.include_root_view = False
router.register("surveys", api.SurveyViewSet, basename="survey")
router.register("waves", api.WaveViewSet, basename="wave")
router.register("responses", api.ResponseViewSet, basename="response")
router.register("ideas", api.IdeaViewSet, basename="idea")

urlpatterns = router.urls
