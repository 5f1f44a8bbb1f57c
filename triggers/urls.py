"""Alerts: where their notifications link (My Work, where they are decided) and the two
decisions."""

from django.urls import path
from django.views.generic import RedirectView

from . import views

app_name = "triggers"

urlpatterns = [
    path(
        "",
        RedirectView.as_view(pattern_name="workspace:my_work", query_string=False),
        name="alerts",
    ),
    path("<int:pk>/confirm/", views.alert_confirm_view, name="alert_confirm"),
    path("<int:pk>/dismiss/", views.alert_dismiss_view, name="alert_dismiss"),
]
