"""The data pages, mounted at /data/."""

from django.urls import path

from . import views

app_name = "data"

urlpatterns = [
    path("", views.data_home, name="home"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("imports/", views.import_list, name="imports"),
    path("imports/<int:pk>/", views.import_detail, name="import"),
    path("imports/<int:pk>/run/", views.import_run, name="import_run"),
    path("imports/<int:pk>/rejected.csv", views.import_rejected, name="import_rejected"),
    path("exports/", views.exports_page, name="exports"),
    path("exports/portfolio.csv", views.export_portfolio, name="export_portfolio"),
    path("exports/playbooks.csv", views.export_playbooks, name="export_playbooks"),
    path("exports/firings.csv", views.export_firings, name="export_firings"),
    path("exports/all.zip", views.export_all, name="export_all"),
    path("erase/", views.contact_erase, name="contact_erase"),
    path("audit/", views.audit, name="audit"),
    path("webhooks/", views.webhook_list, name="webhooks"),
    path("webhooks/<int:pk>/", views.webhook_detail, name="webhook"),
    path("webhooks/<int:pk>/ping/", views.webhook_ping, name="webhook_ping"),
    path("webhooks/<int:pk>/delete/", views.webhook_delete, name="webhook_delete"),
]
