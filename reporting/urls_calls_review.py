from django.urls import path

from reporting import views_calls_review as views

app_name = "calls_review"

urlpatterns = [path("", views.call_list, name="list")]
