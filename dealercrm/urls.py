from csp.decorators import csp_update
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from dealcoverage import api as coverage_api
from dealercrm import views as core_views
from distribution import api as distribution_api
from followup import api as followup_api
from leads import api as leads_api
from org import api as org_api
from today import views as today_views

handler404 = "common.api.page_not_found"

router = DefaultRouter()
router.register("stores", org_api.StoreViewSet, basename="store")
router.register("teams", org_api.TeamViewSet, basename="team")
router.register("staff", org_api.StaffViewSet, basename="staff")
router.register("customers", leads_api.CustomerViewSet, basename="customer")
router.register("possible-duplicates", leads_api.PossibleDuplicateViewSet, basename="possibleduplicate")
router.register("customer-merges", leads_api.CustomerMergeViewSet, basename="customermerge")
router.register("leads", leads_api.LeadViewSet, basename="lead")
router.register("contact-events", leads_api.ContactEventViewSet, basename="contactevent")
router.register("rejected-intakes", leads_api.RejectedIntakeViewSet, basename="rejectedintake")
router.register("coverage-policies", coverage_api.CoveragePolicyViewSet, basename="coveragepolicy")
router.register("deals", coverage_api.DealViewSet, basename="deal")
router.register("disputes", coverage_api.DisputeViewSet, basename="dispute")
router.register("routing-rules", distribution_api.RoutingRuleViewSet, basename="routingrule")
router.register("board", distribution_api.BoardViewSet, basename="board")
router.register("manager-queue", distribution_api.ManagerQueueViewSet, basename="managerqueue")
router.register("notifications", distribution_api.NotificationViewSet, basename="notification")
router.register("tasks", followup_api.TaskViewSet, basename="task")
router.register("appointments", followup_api.AppointmentViewSet, basename="appointment")
router.register("cadence", followup_api.CadenceViewSet, basename="cadence")

urlpatterns = [
    path("", today_views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", core_views.healthz, name="healthz"),
    # Browsers ask for /favicon.ico on pages that name no icon (the admin's, the API docs).
    path("favicon.ico", RedirectView.as_view(url=settings.STATIC_URL + "favicon.svg")),
    path("admin/", admin.site.urls),
    # Before the router, whose lead detail route would otherwise take "adf" for an id.
    path("api/v1/leads/adf/", leads_api.AdfIntakeView.as_view(), name="lead-adf"),
    path("api/v1/coverage/judge/", coverage_api.JudgeView.as_view(), name="coverage-judge"),
    path("api/v1/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI with its settings script served as a file (no inline script); its stylesheet
    # draws icons from data: URLs, allowed on this page alone.
    path("api/docs/", csp_update({"img-src": ["data:"]})(
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="drf_spectacular/swagger_ui_csp.html")
    ), name="api-docs"),
    path("telephony/", include("telephony.urls")),
    path("coverage/policies/", include("dealcoverage.urls_policies")),
    path("coverage/replay/", include("dealcoverage.urls_replay")),
    path("coverage/", include("dealcoverage.urls")),
    path("today/", include("today.urls")),
    path("live/", include("live.urls")),
    path("sales-board/", include("reporting.urls_salesboard")),
    path("appointments/", include("followup.urls_appointments")),
    path("calls/review/", include("reporting.urls_calls_review")),
    path("follow-up/cadence/", include("followup.urls_cadence")),
    path("customers/duplicates/", include("leads.urls_duplicates")),
    path("schedules/", include("org.urls")),
    path("distribution/board/", include("distribution.urls_board")),
    path("distribution/rules/", include("distribution.urls_rules")),
    path("distribution/", include("distribution.urls_queue")),
    path("", include("leads.urls")),
]
