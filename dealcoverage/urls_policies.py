from django.urls import path

from dealcoverage import views_policies

app_name = "coverage_policies"

urlpatterns = [
    path("", views_policies.policy_list, name="list"),
    path("new/", views_policies.policy_new, name="new"),
    path("compare/", views_policies.policy_compare, name="compare"),
]
