from django.urls import path

from dealcoverage import views_replay

app_name = "coverage_replay"

urlpatterns = [
    path("", views_replay.replay_page, name="page"),
    path("api/", views_replay.ReplayApiView.as_view(), name="api"),
]
