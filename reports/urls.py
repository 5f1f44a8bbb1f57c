"""The reports: home, each report (and its CSV exports), the drill-downs."""

from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("", views.home, name="home"),
    path("<slug:name>/", views.report, name="report"),
    path("<slug:name>/<slug:table>/<slug:column>/", views.drill, name="drill"),
]
