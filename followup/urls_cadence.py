from django.urls import path

from followup import views_cadence

app_name = "leads_cadence"

urlpatterns = [
    path("", views_cadence.cadence_edit, name="edit"),
    path("preview/", views_cadence.cadence_preview_view, name="preview"),
]
