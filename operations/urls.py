"""Operations pages."""

from django.urls import path

from . import views

app_name = "operations"

urlpatterns = [
    path("nightly/", views.nightly, name="nightly"),
]
