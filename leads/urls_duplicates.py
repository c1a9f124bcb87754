from django.urls import path

from leads import views_duplicates as views

app_name = "leads_duplicates"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("<int:pk>/different/", views.different, name="different"),
    path("<int:pk>/merge/", views.merge, name="merge"),
    path("merges/<int:pk>/split/", views.split, name="split"),
]
