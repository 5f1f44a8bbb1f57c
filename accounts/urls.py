"""Portfolio pages."""

from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("", views.portfolio, name="portfolio"),
    path("<int:pk>/", views.account_detail, name="detail"),
    path("<int:pk>/reassign/", views.account_reassign_view, name="reassign"),
]
