from django.urls import path

from org import views

app_name = "org_schedules"

urlpatterns = [
    path("", views.week, name="week"),
    path("<int:pk>/", views.edit, name="edit"),
    path("<int:pk>/time-off/", views.time_off_add, name="time_off_add"),
    path("<int:pk>/unlock-sign-in/", views.signin_unlock, name="signin_unlock"),
    path("<int:pk>/time-off/<int:off_pk>/remove/", views.time_off_remove, name="time_off_remove"),
]
