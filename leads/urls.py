from django.urls import path

from leads import views

app_name = "leads"

urlpatterns = [
    path("leads/", views.lead_list, name="list"),
    path("leads/new/", views.lead_new, name="new"),
    path("leads/<int:pk>/", views.lead_detail, name="detail"),
    path("leads/<int:pk>/log/", views.lead_log_contact, name="log"),
    path("leads/<int:pk>/timeline/", views.lead_timeline_list, name="timeline"),
    path("leads/<int:pk>/status/", views.lead_status, name="status"),
    path("leads/<int:pk>/claim/", views.lead_claim, name="claim"),
    path("leads/<int:pk>/assign/", views.lead_assign, name="assign"),
    path("f/<slug:store_slug>/", views.web_form, name="web_form"),
]
