"""The CSM workspace."""

from django.urls import path

from . import views

app_name = "workspace"

urlpatterns = [
    path("", views.my_work, name="my_work"),
    path("team/", views.team_board, name="team"),
    path("forecast/", views.forecast, name="forecast"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/badge/", views.notification_badge, name="notification_badge"),
    path("notifications/read/", views.notifications_read_all, name="notifications_read_all"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification_read"),
    path("accounts/<int:pk>/work/", views.account_panel, name="account_panel"),
    path("accounts/<int:pk>/start/", views.account_start_playbook, name="account_start"),
    path("accounts/<int:pk>/contact/", views.account_log_contact, name="account_contact"),
    path("accounts/<int:pk>/timeline/", views.account_timeline, name="account_timeline"),
]
