"""Playbook pages and the step actions (My Work posts to these too)."""

from django.urls import path

from . import views

app_name = "playbooks"

urlpatterns = [
    path("<int:pk>/", views.playbook_detail, name="detail"),
    path("<int:pk>/contacts/", views.playbook_log_contact_view, name="log_contact"),
    path("<int:pk>/close/", views.playbook_close_view, name="close"),
    path("<int:pk>/reassign/", views.playbook_reassign_view, name="reassign"),
    path("steps/<int:pk>/", views.step_detail, name="step"),
    path("steps/<int:pk>/complete/", views.step_complete_view, name="step_complete"),
    path("steps/<int:pk>/note/", views.step_note_view, name="step_note"),
    path("steps/<int:pk>/snooze/", views.step_snooze_view, name="step_snooze"),
]
