"""The salesperson's Today page (mounted at /today/)."""

from django.urls import path

from today import views

app_name = "leads_today"

urlpatterns = [
    path("", views.today, name="today"),
    path("coverage/", views.coverage_section, name="coverage"),
    path("leads/<int:pk>/work/", views.work, name="work"),
    path("leads/<int:pk>/appointment/", views.appointment_set, name="appointment_set"),
    path("tasks/done/", views.tasks_done, name="tasks_done"),
    path("appointments/<int:pk>/confirm/", views.appointment_status, {"action": "confirm"}, name="appointment_confirm"),
    path("appointments/<int:pk>/no-show/", views.appointment_status, {"action": "no_show"}, name="appointment_no_show"),
]
