"""Puts the request's organization, role and the user's other organizations into templates."""

from django.utils.functional import SimpleLazyObject


def tenancy(request):
    membership = getattr(request, "membership", None)
    user = getattr(request, "user", None)

    def memberships():
        from .selectors import memberships_of_user

        if user is None or not user.is_authenticated:
            return []
        return list(memberships_of_user(user=user))

    return {
        "organization": getattr(request, "organization", None),
        "membership": membership,
        "role": membership.role if membership else None,
        # Lazy: only pages that show the organization switcher run the query.
        "user_memberships": SimpleLazyObject(memberships),
    }
