from django.urls import path

from . import views

app_name = "lifecycle"

urlpatterns = [
    path("accounts/<int:pk>/", views.account_journey_card, name="account"),
]
