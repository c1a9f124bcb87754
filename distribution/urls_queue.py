from django.urls import path

from distribution import views_queue as views

app_name = "distribution_queue"
urlpatterns = [
    path("queue/", views.queue, name="queue"),
    path("leads/<int:pk>/assign/", views.lead_assign, name="assign"),
    path("leads/<int:pk>/release/", views.lead_release, name="release"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/bell/", views.bell, name="bell"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
    path("notifications/<int:pk>/", views.notification_open, name="notification_open"),
    path("available/", views.available, name="available"),
]
