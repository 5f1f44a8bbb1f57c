"""Puts the request's organization and role into every template."""


def tenancy(request):
    membership = getattr(request, "membership", None)
    return {
        "organization": getattr(request, "organization", None),
        "membership": membership,
        "role": membership.role if membership else None,
    }
