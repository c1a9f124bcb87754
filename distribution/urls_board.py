from django.urls import path

from distribution import views_board

app_name = "distribution_board"
urlpatterns = [
    path("", views_board.board_page, name="page"),
    path("live/", views_board.board_live, name="live"),
    path("<int:lead_id>/hand/<int:staff_id>/", views_board.board_hand, name="hand"),
]
