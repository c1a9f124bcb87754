from django.urls import path

from dealcoverage import views

app_name = "coverage"

urlpatterns = [
    path("ending/", views.ending, name="ending"),
    path("deals/", views.deal_list, name="deal_list"),
    path("deals/new/", views.deal_new, name="deal_new"),
    path("deals/<int:pk>/", views.deal_detail, name="deal_detail"),
    path("deals/<int:pk>/override/", views.deal_override, name="deal_override"),
    path("deals/<int:pk>/dispute/", views.deal_dispute, name="deal_dispute"),
    path("disputes/<int:pk>/uphold/", views.dispute_uphold, name="dispute_uphold"),
    path("leads/<int:pk>/live/", views.lead_live, name="lead_live"),
]
