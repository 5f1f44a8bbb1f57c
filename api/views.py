"""The data pages (filled in below) and the API docs."""

from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET


@require_GET
def api_docs(request):
    """Swagger UI over the schema, from our own static files; open to anyone (the schema
    describes the API, it holds no data)."""
    return render(request, "api/api_docs.html", {"schema_url": reverse("api:schema")})
