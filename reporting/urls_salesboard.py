from django.urls import path

from reporting import views_salesboard

app_name = "leads_salesboard"

urlpatterns = [path("", views_salesboard.board, name="board")]
