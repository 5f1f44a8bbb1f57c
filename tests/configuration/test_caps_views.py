"""The Alert volume page: admins set the organization's weekly cap and personas' own,
analysts read them, bad input is refused on its field; the queue is counted per CSM."""

import pytest
from django.urls import reverse

from tests import factories as f
from tests.conftest import _member
from tests.triggers.test_caps import NIGHT1, _world
from triggers import services
from triggers.models import WeeklyCap

pytestmark = pytest.mark.django_db

URL = "/configuration/alert-volume/"


def test_the_url():
    assert reverse("configuration:caps") == URL


def test_an_admin_sees_the_default_and_sets_the_caps(client, org, org_admin):
    client.force_login(org_admin)
    page = client.get(URL).content.decode()
    assert "At most 15 new playbooks and alerts per CSM per week" in page
    assert "(The default, 15.)" in page
    assert client.post(URL, {"form": "org", "org-per_csm": "4"}).status_code == 302
    assert list(WeeklyCap.all_objects.values_list("persona", "per_csm", "updated_by")) == [
        (None, 4, org_admin.pk)
    ]
    assert "At most 4 new playbooks" in client.get(URL).content.decode()
    # empty: no cap
    client.post(URL, {"form": "org", "org-per_csm": ""})
    assert WeeklyCap.all_objects.get(persona=None).per_csm is None
    assert "No cap: every new firing" in client.get(URL).content.decode()
    # a persona's own, then back to sharing the organization's
    growth = f.PersonaFactory(organization=org, name="Growth", slug="growth")
    client.post(URL, {"form": "persona", "persona-persona": str(growth.pk), "persona-per_csm": "2"})
    assert WeeklyCap.all_objects.get(persona=growth).per_csm == 2
    assert "2 per CSM per week" in client.get(URL).content.decode()
    client.post(URL, {"form": "remove", "persona": str(growth.pk)})
    assert not WeeklyCap.all_objects.filter(persona=growth).exists()


def test_bad_input_is_refused_on_its_field(client, org, org_admin, other_org):
    client.force_login(org_admin)
    response = client.post(URL, {"form": "org", "org-per_csm": "-1"})
    assert response.status_code == 422
    assert "greater than or equal to 0" in response.content.decode()
    theirs = f.PersonaFactory(organization=other_org, name="Theirs", slug="theirs")
    response = client.post(
        URL, {"form": "persona", "persona-persona": str(theirs.pk), "persona-per_csm": "2"}
    )
    assert response.status_code == 422
    assert client.post(URL, {"form": "remove", "persona": str(theirs.pk)}).status_code == 400
    assert client.post(URL, {"form": "nope"}).status_code == 400
    assert WeeklyCap.all_objects.count() == 0


def test_an_analyst_reads_but_cannot_change(client, org, analyst):
    client.force_login(analyst)
    page = client.get(URL).content.decode()
    assert "Only an admin changes the caps." in page and 'name="org-per_csm"' not in page
    assert client.post(URL, {"form": "org", "org-per_csm": "3"}).status_code == 403
    assert WeeklyCap.all_objects.count() == 0


def test_the_queue_is_counted_per_csm_and_on_the_trigger(client, org, csm, org_admin):
    """Night 1 of tests/triggers/test_caps.py: Carla's A2, A8, A5, A4 and the unowned U2 wait
    (5); of them, retention's A2, A8 and U2 (3)."""
    bruno = _member(org, "csm", "bruno.csm")
    accounts, retention, expansion = _world(org, csm, bruno)
    services.triggers_evaluate(org=org, day=NIGHT1)
    client.force_login(org_admin)
    page = client.get(URL).content.decode()
    assert "5 firings wait in the queue" in page
    rows = page.split('id="queue-table"')[1]
    assert 'data-label="Waiting">4</td>' in rows and 'data-label="Waiting">1</td>' in rows
    detail = client.get(reverse("configuration:trigger", args=[retention.pk])).content.decode()
    assert "3 firings" in detail.split('id="trigger-waiting"')[1][:200]
    assert (
        "5 firings wait in the queue" in client.get(reverse("configuration:home")).content.decode()
    )


def _queue_lines(page: str) -> dict[str, list[str]]:
    """The queue table's rows: the CSM's cell -> the other cells' text."""
    import re

    table = page.split('id="queue-table"')[1].split("<tbody>")[1].split("</tbody>")[0]
    out = {}
    for row in re.findall(r"<tr><th[^>]*>(.*?)</th>(.*?)</tr>", table):
        out[row[0]] = re.findall(r"<td[^>]*>(.*?)</td>", row[1])
    return out


def test_the_page_tells_the_cap_in_force_and_the_queue_per_csm(client, org, csm, org_admin):
    """Night 1 of tests/triggers/test_caps.py (cap 2): Carla received A1 and A3 and waits
    for A2, A8, A5, A4 (4); the unowned pile received U3 and U1 and waits for U2 (1); the
    night is taken as this week's. Per row: the organization's cap 2, received 2, left
    2 − 2 = 0. The admin then empties the cap: the page no longer says only "No cap", but
    that the 5 firings queued under the earlier cap still wait and the next night lets them
    through; each row says no cap now, all left."""
    from orgs.timezones import org_today
    from triggers.models import Firing

    bruno = _member(org, "csm", "bruno.csm")
    _world(org, csm, bruno)
    services.triggers_evaluate(org=org, day=NIGHT1)
    Firing.all_objects.filter(organization=org, delivered_on=NIGHT1).update(
        delivered_on=org_today(org)
    )
    client.force_login(org_admin)
    page = client.get(URL).content.decode()
    lines = _queue_lines(page)
    carla = csm.get_full_name() or csm.username
    assert lines[carla] == ["The organization&#x27;s cap", "4", "2", "2", "0"]
    assert lines["No owner"] == ["The organization&#x27;s cap", "1", "2", "2", "0"]
    assert set(lines) == {carla, "No owner"}  # Bruno received B1 and B2 and waits for none
    client.post(URL, {"form": "org", "org-per_csm": ""})
    page = client.get(URL).content.decode()
    now = page.split('id="org-cap-now"')[1].split("</p>")[0]
    assert "No cap: every new firing becomes its playbook or alert at once." in now
    assert "5 firings queued under an earlier cap still wait" in now
    lines = _queue_lines(page)
    assert lines[carla] == ["The organization&#x27;s cap", "4", "No cap now", "2", "all"]


def test_the_page_says_how_long_the_queue_keeps_a_firing_and_how_many_expired(
    client, org, csm, org_admin
):
    """Night 1 queues 5 firings (A2, A8, A5, A4, U2); moved to 30 days ago and released
    today, they have waited more than 14 days: all 5 expire, and the page says the rule
    and that 5 of the last 90 days' firings expired; none waits."""
    import datetime as dt

    from orgs.timezones import org_today
    from triggers.models import Firing
    from triggers.services.caps import firings_release

    bruno = _member(org, "csm", "bruno.csm")
    _world(org, csm, bruno)
    services.triggers_evaluate(org=org, day=NIGHT1)
    today = org_today(org)
    Firing.all_objects.filter(organization=org, queue_state="queued").update(
        fired_on=today - dt.timedelta(days=30)
    )
    assert firings_release(org=org, day=today).expired == 5
    client.force_login(org_admin)
    page = client.get(URL).content.decode()
    expiry = " ".join(page.split('id="queue-expiry"')[1].split("</p>")[0].split())
    assert "more than 14 days since it fired expires in the night" in expiry
    assert "Of the firings of the last 90 days, 5 expired." in expiry
    assert "0 firings wait in the queue" in page
