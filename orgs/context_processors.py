"""Puts the request's organization, role and the user's other organizations into templates."""

from django.utils.functional import SimpleLazyObject

from .languages import language_choices, supported_language


def tenancy(request):
    membership = getattr(request, "membership", None)
    org = getattr(request, "organization", None)
    user = getattr(request, "user", None)

    def memberships():
        from .selectors import memberships_of_user

        if user is None or not user.is_authenticated:
            return []
        return list(memberships_of_user(user=user))

    return {
        "organization": org,
        "membership": membership,
        "role": membership.role if membership else None,
        # The user menu's language switcher: the installation's languages, and what the
        # organization's locale resolves to (the "follow the organization" choice).
        "language_choices": language_choices(),
        "organization_language": supported_language(org.locale) if org is not None else None,
        # Lazy: only pages that show the organization switcher run the query.
        "user_memberships": SimpleLazyObject(memberships),
    }
