"""The main pages read in Brazilian Portuguese for an organization whose locale is pt-BR: none
of the English words every page is made of shows, the figures are in its formats, and the
same pages read in English for a user who chose English."""

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from accounts.models import Account, Persona
from configuration.services import trigger_draft_from_trigger
from health.models import HealthModel, Indicator
from orgs.models import Membership, Organization
from playbooks.models import Playbook
from tests.builders import DAY, trigger_world
from triggers import services as trigger_services

pytestmark = pytest.mark.django_db

# Words of the interface (navigation, headings, buttons, table headers) that must not appear
# in a Portuguese page; the data (account, product and template names) is the organization's.
ENGLISH = [
    "My work",
    "My accounts",
    "Accounts",
    "Portfolio",
    "Health",
    "Overdue",
    "overdue",
    "Save",
    "Cancel",
    "Reports",
    "Log out",
    "Notifications",
    "Open steps",
    "Previous",
    "Next",
    "Due today",
    "due today",
    "Owner",
    "Search",
    "Steps",
    "Timeline",
    "Subscriptions",
    "Invoices",
    "Contacts",
    "Renewal date",
    "Customer since",
    "Mark done",
    "Outcome",
    "Language",
    "Filter",
    "No data",
    "Skip to main content",
    "Why this playbook",
    "Export CSV",
    "Forecast",
    "Configuration",
    # notifications and the digest (issue 15's leftovers)
    "Good morning",
    "New since your last digest",
    "new for you",
    "new playbook",
    "confirm to start",
    "or dismiss",
    "record the outcome",
    # the outcome choices' help
    "The customer",
    "On a closer look",
    # a playbook's origin
    "Created by",
    "Started by",
    "started by",
    # the exports' headers
    "Name",
    "External ID",
    "Lifecycle stage",
    "Health change in 30 days",
]


class _Text(HTMLParser):
    """The text a reader meets: text nodes, and the title, aria-label, placeholder and alt
    attributes; not scripts, styles or JSON data."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template"):
            self._skip += 1
        for name, value in attrs:
            if name in ("title", "aria-label", "placeholder", "alt", "data-label") and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return "\n".join(parser.parts)


def english_words(text: str) -> list[str]:
    return [w for w in ENGLISH if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text)]


@pytest.fixture
def world(org, csm, manager, org_admin, in_org):
    w = trigger_world(org, csm, manager)
    trigger_services.triggers_evaluate(org=org, day=DAY)
    Account.objects.filter(pk=w["accounts"]["a"].pk).update(health_score=82, health_colour="green")
    Organization.objects.filter(pk=org.pk).update(locale="pt-br", currency="BRL")
    w["playbook"] = Playbook.objects.get(account=w["accounts"]["a"])
    w["model"] = HealthModel.all_objects.create(organization=org, name="Default health")
    Indicator.all_objects.create(
        organization=org,
        model=w["model"],
        measure="tenure",
        direction="higher",
        bad_value=0,
        good_value=24,
        weight=1,
    )
    w["draft"] = trigger_draft_from_trigger(trigger=w["triggers"]["retention"])
    w["draft"].created_by = w["draft"].updated_by = org_admin
    w["draft"].save()
    w["membership"] = Membership.objects.get(organization=org, user=csm)
    return w


def _pages(w):
    a = w["accounts"]["a"]
    retention = w["triggers"]["retention"]
    persona = retention.persona or Persona.all_objects.filter(organization=a.organization).first()
    return {
        "csm": [
            reverse("workspace:my_work"),
            reverse("accounts:portfolio"),
            reverse("accounts:detail", args=[a.pk]),
            reverse("playbooks:detail", args=[w["playbook"].pk]),
            reverse("workspace:notifications"),
            reverse("reports:home"),
        ],
        "manager": [reverse("reports:home"), reverse("workspace:team")],
        "org_admin": [
            reverse("health:models"),
            reverse("configuration:home"),
            reverse("configuration:triggers"),
            reverse("configuration:trigger", args=[retention.pk]),
            reverse("configuration:trigger_history", args=[retention.pk]),
            reverse("configuration:draft", args=[w["draft"].pk]),
            reverse("configuration:personas"),
            reverse("configuration:persona", args=[persona.pk]),
            reverse("configuration:persona_history", args=[persona.pk]),
            reverse("configuration:caps"),
            reverse("configuration:health_models"),
            reverse("configuration:health_model", args=[w["model"].pk]),
            reverse("configuration:health_model_history", args=[w["model"].pk]),
            reverse("configuration:templates"),
            reverse("configuration:template", args=[w["templates"]["save"].pk]),
            reverse("configuration:members"),
            reverse("configuration:member", args=[w["membership"].pk]),
            reverse("operations:nightly"),
            reverse("data:home"),
            reverse("data:tokens"),
            reverse("data:exports"),
            reverse("data:imports"),
            reverse("data:audit"),
            reverse("data:webhooks"),
        ],
    }


@pytest.mark.parametrize("who", ["csm", "manager", "org_admin"])
def test_the_main_pages_read_in_portuguese(request, client, world, who):
    client.force_login(request.getfixturevalue(who))
    found = {}
    for url in _pages(world)[who]:
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 200, url
        html = response.content.decode()
        assert '<html lang="pt-br"' in html, url
        text = visible_text(html)
        found[url] = {
            w: [line for line in text.splitlines() if w in line][:3] for w in english_words(text)
        }
    found = {url: words for url, words in found.items() if words}
    assert not found, "\n".join(f"{u}: {w}" for u, w in found.items())


def test_the_account_page_shows_money_and_dates_in_the_brazilian_way(client, csm, world):
    """Alfa holds Core at R$ 1.000,00 a month; it became a customer on 1 January 2022."""
    client.force_login(csm)
    a = world["accounts"]["a"]
    text = visible_text(client.get(reverse("accounts:detail", args=[a.pk])).content.decode())
    assert "R$\u00a01.000,00" in text
    assert "01/01/2022" in text
    assert "Cliente desde" in text and "Assinaturas" in text


def test_a_user_who_chose_english_reads_the_same_pages_in_english(client, csm, world):
    csm.language = "en"
    csm.save(update_fields=["language"])
    client.force_login(csm)
    html = client.get(reverse("workspace:my_work")).content.decode()
    assert '<html lang="en"' in html
    text = visible_text(html)
    assert "My work" in text and "Open steps" in text and "Meu trabalho" not in text


def test_the_condition_builder_names_every_field_in_portuguese(client, org_admin, world):
    """The field picker's labels are composed of a measure, a part and a unit ("Tenure:
    value (months)"), of a usage metric and a window ("Logins: total over 30 days") or are
    plain ("Size band"): each reads whole in Portuguese, the unit included."""
    client.force_login(org_admin)
    html = client.get(reverse("configuration:draft", args=[world["draft"].pk])).content.decode()
    text = visible_text(html)
    for pt in (
        "Tempo de casa: valor (meses)",
        "Tempo de casa: nota 0-100",
        "Faturas em atraso: valor (quantidade)",
        "Logins: total em 30 dias",
        "Volume transacionado: dias com atividade em 90 dias",
        "Porte",
        "Nota de saúde",
    ):
        assert pt in text, pt
    for en in ("Tenure: value", "score 0-100\n", "total over", "active days", "Size band"):
        assert en not in text, en


def test_the_dry_run_and_backtest_read_in_portuguese(client, org_admin, world):
    """Its firings and alerts gone, retention (health below 51, volume trend at most -30 or an
    invoice over 30 days late) would fire again on Charlie (health 43), Delta (volume
    -38% over 90 days) and Echo (an invoice 41 days late); its evidence reads in Portuguese,
    and both pages write their days the Brazilian way (30/06/2024, the day the world is
    scored on)."""
    from triggers.models import Alert, Firing

    retention = world["triggers"]["retention"]
    Alert.all_objects.filter(firing__trigger=retention).delete()
    Firing.all_objects.filter(trigger=retention).delete()
    client.force_login(org_admin)
    dry = visible_text(
        client.get(reverse("configuration:dry_run", args=[retention.pk])).content.decode()
    )
    assert "30/06/2024" in dry and "2024-06-30" not in dry
    for said in (
        "A nota de saúde é 43",
        "O volume transacionado caiu 38% em 90 dias",
        "A fatura não paga mais antiga está 41 dias em atraso",
    ):
        assert said in dry, said
    back = visible_text(
        client.get(reverse("configuration:backtest", args=[retention.pk])).content.decode()
    )
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", back), back
    assert re.search(r"\b\d\d/\d\d/20\d\d\b", back), back


def test_the_timeline_details_read_in_portuguese(client, csm, world):
    """Alfa's playbook, opened by the expansion trigger and owned by its CSM, reads
    "<origin> · responsável: <CSM>" on the account's timeline, not "· owner"."""
    client.force_login(csm)
    a = world["accounts"]["a"]
    text = visible_text(
        client.get(reverse("workspace:account_timeline", args=[a.pk])).content.decode()
    )
    assert f"· responsável: {world['playbook'].owner}" in text
    assert "· owner" not in text


def test_the_digest_reaches_a_brazilian_user_in_portuguese(world, csm):
    """The night wrote the alerts' notifications in English (the test runs in English);
    Carla chose no language and her organization is pt-BR, so her digest, subject and body,
    reads in Portuguese: "csplatform: 4 novidades para você" (her three alerts, Charlie,
    Delta and Echo, and her expansion playbook on Alfa), none of the English words."""
    from django.core import mail

    from playbooks import services as pb
    from playbooks.models import Notification

    mine = Notification.objects.filter(user=csm).count()
    assert mine == 4
    org = Organization.objects.get(pk=world["accounts"]["a"].organization_id)
    assert pb.notifications_send_digest(org=org) == 1
    (message,) = [m for m in mail.outbox if m.to == [csm.email]]
    assert message.subject == f"csplatform: {mine} novidades para você"
    assert message.body.startswith("Bom dia,\n\nNovidades desde o seu último resumo:\n")
    assert "confirme para iniciar" in message.body
    assert not english_words(message.subject + "\n" + message.body), message.body


def test_a_brazilian_user_who_chose_english_gets_the_digest_in_english(world, csm):
    from django.core import mail

    from playbooks import services as pb

    csm.language = "en"
    csm.save(update_fields=["language"])
    pb.notifications_send_digest(
        org=Organization.objects.get(pk=world["accounts"]["a"].organization_id)
    )
    (message,) = [m for m in mail.outbox if m.to == [csm.email]]
    assert message.subject.endswith("new for you") and "Good morning," in message.body
    assert "confirm to start" in message.body


def test_an_invitation_to_a_brazilian_organization_reads_in_portuguese(
    world, org_admin, django_capture_on_commit_callbacks
):
    """An admin reading in English invites Nina to the pt-BR organization: her mail is in
    her language (none chosen yet: the organization's), not the sender's."""
    from django.core import mail
    from django.utils import translation

    from configuration.members import services as member_services
    from orgs.models import Organization

    org = Organization.objects.get(pk=world["accounts"]["a"].organization_id)
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        member_services.member_invite(
            organization=org,
            email="nina@example.com",
            name="Nina Nova",
            role="csm",
            acting_user=org_admin,
        )
    (message,) = [m for m in mail.outbox if m.to == ["nina@example.com"]]
    assert message.subject == f"Você foi convidado(a) para {org.name}"
    assert message.body.startswith("Olá, Nina Nova,")
    assert "Hello" not in message.body and "Choose your password" not in message.body


def test_a_portfolio_export_for_a_brazilian_spreadsheet_reads_in_portuguese(client, csm, world):
    """The export a CSM downloads from the portfolio, `csv=local`: Portuguese headers, ";"
    between cells."""
    client.force_login(csm)
    body = b"".join(client.get("/data/exports/portfolio.csv?csv=local").streaming_content)
    header = body.decode("utf-8-sig").splitlines()[0]
    assert header.startswith("ID;ID externo;Nome;Tier;Modelo de atendimento;")
    assert not english_words(header.replace(";", "\n")), header


def test_a_playbook_started_by_hand_says_who_in_portuguese(client, csm, world):
    """Carla starts the retention template on Bravo by hand: the playbook keeps her name
    (not a sentence) and its page says "Iniciado por <Carla> em"; a row from before, which
    stored "started by Carla", keeps the name once the data migration has run."""
    import importlib

    from django.apps import apps

    from playbooks.services import playbook_start

    playbook = playbook_start(
        account=world["accounts"]["b"],
        template=world["templates"]["save"],
        acting_user=csm,
        today=DAY,
    )
    assert playbook.origin == "manual" and playbook.origin_label == str(csm)
    client.force_login(csm)
    html = client.get(reverse("playbooks:detail", args=[playbook.pk])).content.decode()
    assert f"Iniciado por <strong>{csm}</strong> em" in html
    assert not english_words(visible_text(html))
    Playbook.objects.filter(pk=playbook.pk).update(origin_label=f"started by {csm}")
    migration = importlib.import_module(
        "playbooks.migrations.0012_notification_phrase_and_origin_label_names"
    )
    migration.origin_labels_to_names(apps, None)
    playbook.refresh_from_db()
    assert playbook.origin_label == str(csm)


def test_the_firing_export_reads_its_evidence_in_portuguese(client, manager, world):
    """The night wrote Charlie's evidence in English ("The health score is 43"); the firing
    export a pt-BR manager downloads gives it as the pages do: "A nota de saúde é 43"."""
    client.force_login(manager)
    body = b"".join(client.get("/data/exports/firings.csv?csv=local").streaming_content)
    text = body.decode("utf-8-sig")
    assert "A nota de saúde é 43" in text
    assert "The health score is" not in text
