from django.urls import path

from distribution import views_rules

app_name = "distribution_rules"

urlpatterns = [
    path("", views_rules.rule_list, name="list"),
    path("new/", views_rules.rule_new, name="new"),
    path("preview/", views_rules.rule_preview, name="preview"),
    path("<int:pk>/", views_rules.rule_edit, name="edit"),
    path("<int:pk>/toggle/", views_rules.rule_toggle, name="toggle"),
    path("<int:pk>/move/", views_rules.rule_move, name="move"),
    path("<int:pk>/delete/", views_rules.rule_delete, name="delete"),
]
