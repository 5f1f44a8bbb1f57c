"""The nightly job never breaks on one organization's data: a trigger or persona whose stored
configuration or data makes it fail (written straight into the row, as an old version or an
attacker would, since saving refuses it) is skipped, logged, listed on the night's run and
shown to that organization's admins; the other triggers, personas and organizations run, and
the chain completes (digest, monthly run on day 1). Foreground and on a real Celery worker."""

import datetime as dt

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from accounts.models import Account, Persona, UsageMetric
from accounts.tasks import portfolio_refresh
from health.tasks import health_start_run
from playbooks.models import Notification, Playbook, PlaybookTemplate
from tests import factories as f
from tests.builders import DAY, active_days, simple_model, template, trigger_world
from triggers import services
from triggers.models import Alert, Firing, RetentionForecast, Trigger, TriggerRun
from triggers.services import evaluation

FIRST = dt.date(2024, 7, 1)  # a day 1: the monthly run follows the nightly one


# -- one trigger, in the service -------------------------------------------------------

POISONS = {
    "a number past any float": (  # saved before the limits: it overflowed pandas
        {"field": "health_score", "op": "<", "value": 10**400},
        "its condition no longer validates: condition.value: numbers must be between",
    ),
    "a field no longer in the catalogue": (
        {"field": "segment", "op": "=", "value": "smb"},
        "its condition no longer validates: condition.field: unknown field 'segment'",
    ),
    "not a condition at all": (
        "garbage",
        "its condition no longer validates: condition: expected an object, got str",
    ),
    "its template deactivated": ("template-inactive", "playbook template “Retention call”"),
    "its template of another kind": (
        "kind-expansion",
        "its playbook template makes retention playbooks; it is expansion",
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("poison", list(POISONS))
def test_a_poisoned_trigger_is_skipped_and_reported_and_the_other_fires(
    org, csm, manager, in_org, caplog, poison
):
    world = trigger_world(org, csm, manager)
    expansion, retention = world["triggers"]["expansion"], world["triggers"]["retention"]
    value, words = POISONS[poison]
    if value == "template-inactive":
        PlaybookTemplate.objects.filter(pk=retention.template_id).update(is_active=False)
    elif value == "kind-expansion":
        Trigger.objects.filter(pk=retention.pk).update(kind="expansion")
    else:
        Trigger.objects.filter(pk=retention.pk).update(condition=value)

    stats = services.triggers_evaluate(org=org, day=DAY)

    assert set(Firing.objects.values_list("trigger_id", "account__name")) == {
        (expansion.pk, "Alfa")
    }
    assert (stats.fired, stats.playbooks, stats.alerts) == (1, 1, 0)
    assert not Alert.objects.exists()
    [problem] = stats.problems
    assert (problem["trigger"], problem["name"]) == (retention.pk, "Retention risk")
    assert words in problem["error"]
    logged = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any(
        f"org=acme trigger={retention.pk} name='Retention risk'" in m and words in m for m in logged
    ), logged


@pytest.mark.django_db
def test_an_error_while_evaluating_one_trigger_skips_it_alone(
    org, csm, manager, in_org, monkeypatch
):
    """A condition that validates but raises while it is evaluated (before the limits on
    numbers, 10**400 overflowed pandas this way) skips that trigger only. The saved limits
    leave no stored condition known to do it, so the error is injected into the evaluation
    of the trigger that reads overdue invoices."""
    world = trigger_world(org, csm, manager)
    expansion, retention = world["triggers"]["expansion"], world["triggers"]["retention"]
    real = evaluation.evaluate

    def overflowing(node, frame, within=None):
        if "overdue_invoice_max_days" in {c.field.name for c in node.comparisons()}:
            raise OverflowError("int too large to convert to float")
        return real(node, frame, within=within)

    monkeypatch.setattr(evaluation, "evaluate", overflowing)
    stats = services.triggers_evaluate(org=org, day=DAY)

    assert set(Firing.objects.values_list("trigger_id", flat=True)) == {expansion.pk}
    assert stats.problems == [
        {
            "trigger": retention.pk,
            "name": "Retention risk",
            "error": "evaluating its condition failed: OverflowError: int too large to convert "
            "to float",
        }
    ]


@pytest.mark.django_db
def test_a_trigger_whose_writes_fail_rolls_back_alone(org, csm, manager, in_org):
    """Data that the database refuses in one trigger's firings (an infinite usage total in its
    evidence: JSON has no Infinity) rolls back that trigger's writes only; the trigger
    evaluated after it still fires, and a re-run tries it again."""
    world = trigger_world(org, csm, manager)
    expansion, retention = world["triggers"]["expansion"], world["triggers"]["retention"]
    assert expansion.pk < retention.pk  # the failing one comes first
    Trigger.objects.filter(pk=expansion.pk).update(
        condition={"field": "usage.logins.sum_30d", "op": ">", "value": 10}
    )
    UsageMetric.all_objects.create(
        organization=org,
        account=world["accounts"]["a"],
        metric="logins",
        date=DAY,
        value=float("inf"),
    )

    stats = services.triggers_evaluate(org=org, day=DAY)

    [problem] = stats.problems
    assert problem["trigger"] == expansion.pk
    assert problem["error"].startswith("recording its firings failed:")
    assert 'Token "Infinity" is invalid' in problem["error"]
    assert not Firing.objects.filter(trigger=expansion).exists()
    assert not Playbook.objects.filter(account=world["accounts"]["a"]).exists()
    assert Alert.objects.count() == 3 and (stats.fired, stats.alerts) == (3, 3)


@pytest.mark.django_db
def test_a_cooldown_longer_than_the_calendar_means_never_again(org, csm, manager, in_org):
    world = trigger_world(org, csm, manager)
    Trigger.objects.update(cooldown_days=2_000_000_000)  # a valid positive number
    stats = services.triggers_evaluate(org=org, day=DAY)
    assert stats.problems == [] and stats.fired == 4
    assert world["accounts"]["a"].firings.count() == 1


# -- one persona, in the refresh -------------------------------------------------------


def personas_with_one_broken(org):
    """Broken (priority 1, its rules written raw with a field that does not exist) holds Alfa
    from an earlier refresh; Enterprise takes diamond and platinum accounts; Gold the gold."""
    alfa = f.AccountFactory(organization=org, name="Alfa", tier="diamond")
    bravo = f.AccountFactory(organization=org, name="Bravo", tier="platinum")
    gus = f.AccountFactory(organization=org, name="Gus", tier="gold")
    broken = Persona.all_objects.create(
        organization=org, name="Broken", slug="broken", priority=1, rules={}
    )
    Persona.all_objects.filter(pk=broken.pk).update(
        rules={"field": "segment", "op": "=", "value": "smb"}
    )
    enterprise = Persona.all_objects.create(
        organization=org,
        name="Enterprise",
        slug="enterprise",
        priority=2,
        rules={"field": "tier", "op": "in", "value": ["diamond", "platinum"]},
    )
    gold = Persona.all_objects.create(
        organization=org,
        name="Gold",
        slug="gold",
        priority=3,
        rules={"field": "tier", "op": "=", "value": "gold"},
    )
    Account.all_objects.filter(pk=alfa.pk).update(persona=broken)
    Account.all_objects.filter(pk=gus.pk).update(persona=enterprise)  # stale: gold now
    return {"broken": broken, "enterprise": enterprise, "gold": gold}, (alfa, bravo, gus)


def persona_names(*accounts):
    return [
        getattr(Account.all_objects.select_related("persona").get(pk=a.pk).persona, "name", None)
        for a in accounts
    ]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_portfolio_refresh_skips_a_broken_persona_and_refreshes_the_others(
    org, other_org, celery_worker
):
    personas, (alfa, bravo, gus) = personas_with_one_broken(org)
    theirs = f.AccountFactory(organization=other_org, tier="gold")
    Persona.all_objects.create(
        organization=other_org,
        name="Gold",
        slug="gold",
        rules={"field": "tier", "op": "=", "value": "gold"},
    )

    result = portfolio_refresh.delay(org.pk).get(timeout=60)
    theirs_result = portfolio_refresh.delay(other_org.pk).get(timeout=60)

    [problem] = result["problems"]
    assert (problem["persona"], problem["name"]) == (personas["broken"].pk, "Broken")
    assert problem["error"].startswith(
        "its rules no longer validate: condition.field: unknown field 'segment'; known fields: "
    )
    assert result["personas"] == {"enterprise": 1, "gold": 1}
    # Broken keeps Alfa (refreshing it would have emptied it); the others are refreshed.
    assert persona_names(alfa, bravo, gus) == ["Broken", "Enterprise", "Gold"]
    assert theirs_result["problems"] == [] and theirs_result["personas"] == {"gold": 1}
    assert persona_names(theirs) == ["Gold"]


# -- the whole night, two organizations ------------------------------------------------


def night(org, other_org, csm, org_admin, day):
    """Acme: 10 accounts scoring 0..90 on `day`; good triggers (nightly "Low score" < 51 ->
    6 playbooks, monthly "Monthly review" < 31 -> 4 alerts) and poisoned ones (a nightly
    condition with a number past any float, saved before the limits on numbers; a monthly
    trigger whose template was deactivated), and a persona
    whose rules were written with a field that does not exist. Globex: clean, 3 accounts,
    one "Low score" trigger, its own admin."""
    for o in (org, other_org):
        o.timezone = "UTC"
        o.save(update_fields=["timezone"])
    accounts = [
        f.AccountFactory(organization=org, owner=csm, customer_since=dt.date(2020, 1, 1))
        for _ in range(10)
    ]
    for i, account in enumerate(accounts):
        active_days(org, account, i, end=day)
    simple_model(org)
    save = template(org, "Save", "retention")
    old = template(org, "Old save", "retention")

    def trigger(o, name, tmpl, condition, **kw):
        return Trigger.all_objects.create(
            organization=o, name=name, kind="retention", template=tmpl, condition=condition, **kw
        )

    low = trigger(org, "Low score", save, {"field": "health_score", "op": "<", "value": 51})
    poisoned = trigger(
        org, "Poisoned nightly", save, {"field": "health_score", "op": "<", "value": 30}
    )
    Trigger.all_objects.filter(pk=poisoned.pk).update(
        condition={"field": "health_score", "op": "<", "value": 10**400}
    )
    review = trigger(
        org,
        "Monthly review",
        save,
        {"field": "health_score", "op": "<", "value": 31},
        schedule="monthly",
        action="alert",
    )
    stale = trigger(
        org,
        "Old monthly",
        old,
        {"field": "health_score", "op": "<", "value": 31},
        schedule="monthly",
    )
    PlaybookTemplate.all_objects.filter(pk=old.pk).update(is_active=False)
    broken = Persona.all_objects.create(organization=org, name="Broken", slug="broken")
    Persona.all_objects.filter(pk=broken.pk).update(rules={"field": "tier", "op": "~", "value": 1})

    their_csm = f.UserFactory(username="gil.csm")
    f.MembershipFactory(user=their_csm, organization=other_org, role="csm")
    their_admin = f.UserFactory(username="gia.admin")
    f.MembershipFactory(user=their_admin, organization=other_org, role="admin")
    theirs = [
        f.AccountFactory(
            organization=other_org, owner=their_csm, customer_since=dt.date(2020, 1, 1)
        )
        for _ in range(3)
    ]
    for i, account in enumerate(theirs):
        active_days(other_org, account, i, end=day)  # 0, 10, 20: all below 51
    simple_model(other_org)
    their_low = trigger(
        other_org,
        "Low score",
        template(other_org, "Save", "retention"),
        {"field": "health_score", "op": "<", "value": 51},
    )
    return {
        "low": low,
        "poisoned": poisoned,
        "review": review,
        "stale": stale,
        "broken": broken,
        "their_low": their_low,
        "their_admin": their_admin,
    }


def assert_the_night(org, other_org, org_admin, csm, w, day):
    # the good triggers fired, in both organizations
    assert Firing.all_objects.filter(trigger=w["low"]).count() == 6
    assert Playbook.all_objects.filter(organization=org).count() == 6
    assert Alert.all_objects.filter(firing__trigger=w["review"]).count() == 4
    assert not Firing.all_objects.filter(trigger__in=[w["poisoned"], w["stale"]]).exists()
    assert Firing.all_objects.filter(trigger=w["their_low"]).count() == 3
    # the monthly run completed: its forecast, 4 alerts (none decided before: rate 1.0) and
    # the 6 open "Save" playbooks with steps due in the month: 4 + 6 actions, 6 accounts
    [cell] = RetentionForecast.all_objects.filter(organization=org, month=day)
    assert (cell.alerts_raised, cell.expected_actions, cell.accounts_at_risk) == (4, 10, 6)

    # the problems are on the night's run, once each
    run = TriggerRun.all_objects.get(organization=org, date=day)
    by_key = {
        (("trigger", p["trigger"]) if "trigger" in p else ("persona", p["persona"])): p
        for p in run.problems
    }
    assert len(run.problems) == 3 and set(by_key) == {
        ("persona", w["broken"].pk),
        ("trigger", w["poisoned"].pk),
        ("trigger", w["stale"].pk),
    }
    assert "numbers must be between" in by_key[("trigger", w["poisoned"].pk)]["error"]
    assert "“Old save” is deactivated" in by_key[("trigger", w["stale"].pk)]["error"]
    assert "operator '~' does not apply" in by_key[("persona", w["broken"].pk)]["error"]
    assert TriggerRun.all_objects.get(organization=other_org, date=day).problems == []

    # the organization's admin is told, with a link to each one's admin page; nobody else
    told = {
        (n.kind, n.ref): n
        for n in Notification.all_objects.filter(kind__in=["trigger_problem", "persona_problem"])
    }
    assert set(told) == {
        ("trigger_problem", w["poisoned"].pk),
        ("trigger_problem", w["stale"].pk),
        ("persona_problem", w["broken"].pk),
    }
    assert {n.user_id for n in told.values()} == {org_admin.pk}
    assert {n.organization_id for n in told.values()} == {org.pk}
    poisoned = told[("trigger_problem", w["poisoned"].pk)]
    assert poisoned.url == reverse("admin:triggers_trigger_change", args=[w["poisoned"].pk])
    assert poisoned.text.startswith(f"Trigger “Poisoned nightly” was skipped on {day}:")
    persona = told[("persona_problem", w["broken"].pk)]
    assert persona.url == reverse("admin:accounts_persona_change", args=[w["broken"].pk])
    assert not Notification.all_objects.filter(user=csm, kind="trigger_problem").exists()
    assert not Notification.all_objects.filter(
        organization=other_org, kind__in=["trigger_problem", "persona_problem"]
    ).exists()
    return run, told


@pytest.mark.django_db
def test_run_nightly_in_the_foreground_reports_and_completes(
    client, org, other_org, csm, org_admin, caplog
):
    w = night(org, other_org, csm, org_admin, FIRST)

    call_command("run_nightly", "--org", "acme", "--date", FIRST.isoformat(), "--digest")
    call_command("run_nightly", "--org", "globex", "--date", FIRST.isoformat())

    run, told = assert_the_night(org, other_org, org_admin, csm, w, FIRST)
    # the digest went out, the admin's mail lists what was skipped
    [admin_mail] = [m for m in mail.outbox if m.to == [org_admin.email]]
    assert "Poisoned nightly" in admin_mail.body and "Old monthly" in admin_mail.body
    assert any(m.to == [csm.email] for m in mail.outbox)
    assert any(
        "nightly problem org=acme" in r.getMessage() and "Poisoned nightly" in r.getMessage()
        for r in caplog.records
    )

    # the admin sees it in the product and on the run's admin page, with the links
    client.force_login(org_admin)
    page = client.get(reverse("workspace:notifications")).content.decode()
    # the stored day (2024-07-01) in the organization's format when read (en: month first)
    assert "Trigger “Poisoned nightly” was skipped on 07/01/2024" in page
    assert "Trigger skipped" in page and "Persona not refreshed" in page
    listing = client.get(reverse("admin:triggers_triggerrun_changelist")).content.decode()
    assert '<td class="field-problem_count">3</td>' in listing
    change = client.get(reverse("admin:triggers_triggerrun_change", args=[run.pk]))
    assert change.status_code == 200
    html = change.content.decode()
    trigger_url = reverse("admin:triggers_trigger_change", args=[w["poisoned"].pk])
    assert f'<a href="{trigger_url}">Poisoned nightly</a>: its condition no longer' in html
    persona_url = reverse("admin:accounts_persona_change", args=[w["broken"].pk])
    assert f'<a href="{persona_url}">Broken</a>' in html
    assert client.get(trigger_url).status_code == 200

    # the same night again: nothing listed or notified twice, what was read stays read
    Notification.all_objects.filter(pk=told[("trigger_problem", w["poisoned"].pk)].pk).update(
        read_at=dt.datetime(2024, 7, 1, 9, tzinfo=dt.UTC)
    )
    call_command("run_nightly", "--org", "acme", "--date", FIRST.isoformat())
    run.refresh_from_db()
    assert len(run.problems) == 3
    assert Notification.all_objects.filter(user=org_admin).count() == 3
    assert (
        Notification.all_objects.get(kind="trigger_problem", ref=w["poisoned"].pk).read_at
        is not None
    )

    # the next night it is still broken: the same notification is raised again, unread
    second = FIRST + dt.timedelta(days=1)
    call_command("run_nightly", "--org", "acme", "--date", second.isoformat())
    assert [
        p.get("trigger") for p in TriggerRun.all_objects.get(organization=org, date=second).problems
    ] == [
        None,
        w["poisoned"].pk,
    ]
    again = Notification.all_objects.get(kind="trigger_problem", ref=w["poisoned"].pk)
    assert again.read_at is None and again.emailed_at is None
    assert f"skipped on {second}" in again.text
    assert Notification.all_objects.filter(user=org_admin).count() == 3


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_night_on_a_real_worker_reports_and_completes(
    org, other_org, csm, org_admin, celery_worker_factory
):
    from tests.builders import wait_for

    w = night(org, other_org, csm, org_admin, FIRST)
    celery_worker_factory("w1", concurrency=2)

    for o in (org, other_org):
        health_start_run.delay(o.pk, FIRST.isoformat())

    def done():
        return (
            RetentionForecast.all_objects.filter(organization=org, month=FIRST).exists()
            and len(TriggerRun.all_objects.get(organization=org, date=FIRST).problems) == 3
            # on day 1 the digest follows the monthly run: 6 playbooks and the 4 month's alerts
            and Notification.all_objects.filter(user=csm, emailed_at__isnull=False).count() == 10
            and Firing.all_objects.filter(trigger=w["their_low"]).count() == 3
            and Notification.all_objects.filter(
                organization=other_org, emailed_at__isnull=False
            ).count()
            == 3
        )

    assert wait_for(
        lambda: TriggerRun.all_objects.filter(organization=org, date=FIRST).exists() and done()
    ), list(TriggerRun.all_objects.values_list("organization__slug", "chunks_done", "problems"))
    assert_the_night(org, other_org, org_admin, csm, w, FIRST)
    run = TriggerRun.all_objects.get(organization=org, date=FIRST)
    assert run.chunks_done == [0] and run.fired == 6
    # the nightly problems were there when the digest went out
    nightly = Notification.all_objects.get(kind="trigger_problem", ref=w["poisoned"].pk)
    assert nightly.emailed_at is not None
