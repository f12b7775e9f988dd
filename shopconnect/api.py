"""The REST API router (``/api/v1/``). Each app registers its viewsets here."""

from rest_framework.routers import DefaultRouter

from campaigns.api import CampaignViewSet, FlowViewSet, MessageViewSet, TemplateViewSet
from shopconnect.timeline.api import CustomerViewSet, CustomEventViewSet, StoreViewSet

router = DefaultRouter()
router.register("stores", StoreViewSet, basename="store")
router.register("customers", CustomerViewSet, basename="customer")
router.register("events", CustomEventViewSet, basename="event")
router.register("flows", FlowViewSet, basename="flow")
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("templates", TemplateViewSet, basename="template")
router.register("messages", MessageViewSet, basename="message")

from segments.api import SegmentViewSet  # noqa: E402

router.register("segments", SegmentViewSet, basename="segment")

from campaigns.reports.api import ReportViewSet  # noqa: E402

router.register("reports", ReportViewSet, basename="report")
