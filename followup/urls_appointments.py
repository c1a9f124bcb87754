from django.urls import path

from followup import views_appointments as views

app_name = "leads_appointments"

urlpatterns = [
    path("", views.arrivals, name="arrivals"),
    path("<int:pk>/check-in/", views.check_in, name="check_in"),
    path("walk-in/<int:lead_pk>/", views.walk_in, name="walk_in"),
    path("lead/<int:lead_pk>/set/", views.appointment_set, name="set"),
    path("<int:pk>/confirm/", views.appointment_confirm, name="confirm"),
    path("<int:pk>/no-show/", views.appointment_no_show, name="no_show"),
    path("<int:pk>/cancel/", views.appointment_cancel, name="cancel"),
]
