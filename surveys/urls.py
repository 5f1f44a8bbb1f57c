"""The public survey pages (no login: the signed link is the key)."""

from django.urls import path

from . import views

app_name = "surveys"

urlpatterns = [
    path("answer/<str:token>/", views.answer, name="answer"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
