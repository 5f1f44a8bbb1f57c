from django.urls import path

from . import views

app_name = "playbooks"

urlpatterns = [
    path("<int:pk>/", views.playbook_detail, name="detail"),
]
