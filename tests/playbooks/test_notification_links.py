"""A notification links only inside the site: the admin refuses another address, a stored one
is not rendered as a link, and the digest email carries the site's full address."""

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from orgs.validators import is_local_path
from playbooks.models import Notification, NotificationKind
from playbooks.services import notifications_send_digest

pytestmark = pytest.mark.django_db

HOSTILE = [
    "javascript:alert(document.domain)",
    "https://evil.example/phish",
    "//evil.example/x",
    "/\\evil.example",
    "data:text/html,<script>alert(1)</script>",
    " /work/",
    "/work/\x00",
]


@pytest.mark.parametrize("url", HOSTILE)
def test_paths_elsewhere_are_not_local(url):
    assert not is_local_path(url)


@pytest.mark.parametrize("url", ["/work/", "/playbooks/12/#step-3", "/work/?user=4&kind=x"])
def test_paths_here_are(url):
    assert is_local_path(url)


@pytest.mark.parametrize("url", HOSTILE[:5])
def test_the_admin_refuses_a_link_elsewhere(client, org, org_admin, csm, url):
    client.force_login(org_admin)
    response = client.post(
        "/admin/playbooks/notification/add/",
        {
            "user": csm.pk,
            "kind": NotificationKind.PLAYBOOK_ASSIGNED,
            "ref": 1,
            "text": "Hi",
            "url": url,
        },
    )
    assert response.status_code == 200
    assert "url" in response.context["adminform"].form.errors
    assert not Notification.all_objects.exists()


def test_a_stored_link_elsewhere_is_shown_as_text(client, org, csm):
    Notification.all_objects.create(
        organization=org,
        user=csm,
        kind=NotificationKind.PLAYBOOK_ASSIGNED,
        ref=1,
        text="Click me",
        url="https://evil.example/phish",
    )
    Notification.all_objects.create(
        organization=org,
        user=csm,
        kind=NotificationKind.PLAYBOOK_ASSIGNED,
        ref=2,
        text="Your work",
        url="/work/",
    )
    client.force_login(csm)
    html = client.get(reverse("workspace:notifications")).content.decode()
    assert "evil.example" not in html and "Click me" in html
    assert '<a href="/work/">Your work</a>' in html


@override_settings(SITE_URL="https://cs.example.com/")
def test_the_digest_links_to_the_site(org, csm):
    for ref, url in ((1, "/playbooks/7/"), (2, "//evil.example/x")):
        Notification.all_objects.create(
            organization=org,
            user=csm,
            kind=NotificationKind.PLAYBOOK_ASSIGNED,
            ref=ref,
            text=f"note {ref}",
            url=url,
        )
    assert notifications_send_digest(org=org) == 1
    body = mail.outbox[0].body
    assert "- note 1 (https://cs.example.com/playbooks/7/)" in body
    assert "evil.example" not in body and "- note 2\n" in body
