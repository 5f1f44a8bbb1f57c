"""The data pages: API tokens, CSV imports, exports and webhooks (filled in below)."""

app_name = "data"
urlpatterns: list = []
