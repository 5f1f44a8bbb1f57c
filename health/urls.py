from django.urls import path

from . import views

app_name = "health"

urlpatterns = [
    path("accounts/<int:pk>/", views.account_health, name="account"),
    path("accounts/<int:pk>/explain/", views.account_health_explain, name="explain"),
    path("accounts/<int:pk>/day/", views.account_health_day, name="day"),
    path("accounts/<int:pk>/judgement/", views.account_judgement, name="judgement"),
    path("disagreements/", views.disagreements, name="disagreements"),
    path("disagreements/<int:pk>/resolve/", views.disagreement_resolve, name="resolve"),
    path("models/", views.model_list, name="models"),
    path("models/<int:pk>/", views.model_detail, name="model"),
    path("models/<int:pk>/suggest/", views.model_suggest, name="suggest"),
]
