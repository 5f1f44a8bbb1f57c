"""The language a page is served in: the user's choice, else the organization's locale, else the
browser's Accept-Language; the switcher in the user menu; <html lang> follows."""

import re

import pytest
from django.urls import reverse

from orgs.languages import resolve_language, supported_language
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

MY_WORK = reverse("workspace:my_work")


def _lang(html: str) -> str:
    return re.search(r'<html lang="([^"]+)"', html).group(1)


@pytest.mark.parametrize(
    ("user", "org", "browser", "expected"),
    [
        ("pt-br", "en", "en", "pt-br"),  # the user's choice first
        ("en", "pt-br", "pt-br", "en"),
        ("", "pt-br", "en", "pt-br"),  # then the organization's
        ("", "en-us", "pt-br", "en"),  # a regional variant of a language we speak
        ("", "", "pt-br", "pt-br"),  # then the browser's
        ("", "ja", "pt-br", "pt-br"),  # a locale we do not speak is skipped
        ("xx", None, "en", "en"),  # a stored code we no longer speak is skipped
    ],
)
def test_resolution_order(user, org, browser, expected):
    assert resolve_language(user_language=user, org_locale=org, browser_language=browser) == (
        expected
    )


def test_supported_language_reads_the_spellings_people_write():
    assert [supported_language(c) for c in ("pt-BR", "pt_br", "PT-BR", "en-GB", "", None)] == [
        "pt-br",
        "pt-br",
        "pt-br",
        "en",
        None,
        None,
    ]


def _member(locale: str, language: str = ""):
    org = OrganizationFactory(locale=locale)
    user = UserFactory(language=language)
    MembershipFactory(user=user, organization=org, role="csm")
    return user


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("org_locale", "user_language", "browser", "expected"),
    [
        ("pt-br", "", "en", "pt-br"),
        ("en", "", "pt-BR,pt;q=0.9", "en"),
        ("en", "pt-br", "en", "pt-br"),
        ("pt-br", "en", "pt-BR", "en"),
    ],
)
def test_a_page_is_served_in_the_resolved_language(
    client, org_locale, user_language, browser, expected
):
    client.force_login(_member(org_locale, user_language))
    response = client.get(MY_WORK, HTTP_ACCEPT_LANGUAGE=browser)
    assert response.status_code == 200
    assert _lang(response.content.decode()) == expected
    assert response["Content-Language"] == expected
    assert "Accept-Language" in response["Vary"]


@pytest.mark.django_db
def test_the_login_page_follows_the_browser(client):
    """Nobody is known yet: the browser's language (LocaleMiddleware's answer)."""
    html = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="pt-BR").content.decode()
    assert _lang(html) == "pt-br"
    assert "Entrar" in html
    html = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert _lang(html) == "en"


@pytest.mark.django_db
def test_the_switcher_sets_the_users_language_and_returns_to_the_page(client):
    user = _member("en")
    client.force_login(user)
    page = client.get(MY_WORK).content.decode()
    assert 'name="language"' in page and 'action="/me/language/"' in page
    response = client.post(
        reverse("set_language"), {"language": "pt-br", "next": f"{MY_WORK}?kind=retention"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"{MY_WORK}?kind=retention"
    user.refresh_from_db()
    assert user.language == "pt-br"
    html = client.get(MY_WORK).content.decode()
    assert _lang(html) == "pt-br" and "Meu trabalho" in html
    # "" follows the organization again
    client.post(reverse("set_language"), {"language": "", "next": MY_WORK})
    user.refresh_from_db()
    assert user.language == ""
    assert _lang(client.get(MY_WORK).content.decode()) == "en"


@pytest.mark.django_db
def test_the_switcher_refuses_a_language_and_a_foreign_next(client):
    user = _member("en", "en")
    client.force_login(user)
    response = client.post(
        reverse("set_language"),
        {"language": "klingon", "next": "https://evil.example/"},
        follow=True,
    )
    assert response.redirect_chain[0][0] == reverse("home")
    assert "is not a language this installation speaks" in response.content.decode()
    user.refresh_from_db()
    assert user.language == "en"


@pytest.mark.django_db
def test_the_switcher_needs_a_post_and_a_login(client):
    assert client.get(reverse("set_language")).status_code in (302, 405)
    response = client.post(reverse("set_language"), {"language": "pt-br"})
    assert response.status_code == 302 and reverse("login") in response["Location"]
