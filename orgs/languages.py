"""Which language a request is served in: the user's choice, else their organization's locale,
else the browser's Accept-Language (Django's LocaleMiddleware has resolved that one already)."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation


def supported_language(code: str | None) -> str | None:
    """`code` as one of settings.LANGUAGES ("pt-BR", "pt_br" and "en-us" too), or None."""
    if not code:
        return None
    try:
        return translation.get_supported_language_variant(code.strip().lower().replace("_", "-"))
    except LookupError:
        return None


def language_choices() -> list[tuple[str, str]]:
    """The languages a user may choose, each named in its own language."""
    return list(settings.LANGUAGES)


def resolve_language(*, user_language: str, org_locale: str | None, browser_language: str) -> str:
    """The first of the user's choice, the organization's locale and the browser's language
    that this installation speaks (the browser's is always one: LocaleMiddleware's answer)."""
    return (
        supported_language(user_language)
        or supported_language(org_locale)
        or supported_language(browser_language)
        or settings.LANGUAGE_CODE
    )


def recipient_language(*, user, organization) -> str:
    """The language a mail or notification for `user` is written in (no browser to ask):
    their choice, else their organization's locale, else the installation's default."""
    return resolve_language(
        user_language=getattr(user, "language", "") or "",
        org_locale=getattr(organization, "locale", None),
        browser_language="",
    )
