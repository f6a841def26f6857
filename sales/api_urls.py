from django.urls import path
from rest_framework.routers import DefaultRouter

from . import api

router = DefaultRouter()
router.register("customers", api.CustomerViewSet, basename="customer")
router.register("products", api.ProductViewSet, basename="product")
router.register("sales", api.SaleViewSet, basename="sale")
router.register("sales-months", api.SalesMonthViewSet, basename="salesmonth")

urlpatterns = [
    # Before the router: its `sales/<pk>/` route would otherwise take "bulk" for an id.
    path("sales/bulk/", api.SalesBulkView.as_view(), name="sale-bulk"),
    *router.urls,
]
