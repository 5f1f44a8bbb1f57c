"""Per-token request budget (API_TOKEN_RATE_PER_MINUTE), counted in the shared cache so every
web process sees the same count; beyond it, 429 with Retry-After (DRF's handler sets it)."""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from .authentication import TokenUser


class TokenRateThrottle(SimpleRateThrottle):
    scope = "token"

    def get_rate(self):
        return f"{settings.API_TOKEN_RATE_PER_MINUTE}/min"

    def get_cache_key(self, request, view):
        if not isinstance(request.user, TokenUser):
            return None
        return f"api-throttle:{request.user.token.pk}"
