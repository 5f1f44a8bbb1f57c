from django.urls import path

from . import views

app_name = "health"

urlpatterns = [
    path("accounts/<int:pk>/", views.account_health, name="account"),
    path("models/", views.model_list, name="models"),
    path("models/<int:pk>/", views.model_detail, name="model"),
]
