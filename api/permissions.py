"""Who may call an endpoint: a token (no person's session), and writes need a read-write
token."""

from django.utils.translation import gettext_lazy as _
from rest_framework import permissions

from .authentication import TokenUser


class TokenScopePermission(permissions.BasePermission):
    message = _("This API token is read-only; writes need a read-write token.")

    def has_permission(self, request, view):
        user = request.user
        if not isinstance(user, TokenUser):
            self.message = _("Authenticate with an API token: Authorization: Bearer <token>.")
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        self.message = TokenScopePermission.message
        return user.token.can_write
