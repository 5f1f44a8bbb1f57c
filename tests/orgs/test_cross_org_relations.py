"""No organization reaches another through a relation field.

Every admin change form (with its inlines) of every tenant model, every admin add form, every
form of the product and every htmx endpoint that takes a relation is posted with another
organization's ids, as that organization's admin and as a superuser, and must refuse them and
change nothing. The lists are discovered (the admin registry, the models' relation fields, the
Form classes of the apps), so a new model, field or form is walked without editing this file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
from html.parser import HTMLParser

import pytest
from django import forms
from django.contrib import admin
from django.contrib.admin.templatetags.admin_urls import admin_urlname
from django.contrib.admin.widgets import ManyToManyRawIdWidget
from django.db import models
from django.forms.models import _get_foreign_key
from django.test import RequestFactory
from django.urls import reverse

from accounts.models import Account, ChurnReason, Contact, Interaction
from orgs.models import Membership, Organization, Role, User
from orgs.relations import TenantRelationsMixin
from orgs.tenancy import TenantModel, org_context
from playbooks.models import Playbook, PlaybookStep, PlaybookTemplate
from tests import tenant_graph
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TENANT_ADMINS = sorted(
    (m for m in admin.site._registry if issubclass(m, TenantModel)), key=lambda m: m._meta.label
)


@pytest.fixture
def graphs(org, other_org):
    return tenant_graph.build(org, "acme"), tenant_graph.build(other_org, "globex")


@pytest.fixture
def root(db):
    return UserFactory(username="root", is_superuser=True, is_staff=True)


def target(graph: dict, model: type[models.Model]):
    """The row of `model` in `graph`: its CSM for users, its organization for organizations."""
    if issubclass(model, User):
        return graph["csm"]
    if issubclass(model, Organization):
        return graph[Account].organization
    return graph[model]


# -- Reading and posting admin forms as a browser would -------------------------------------


class _FormData(HTMLParser):
    """The values a browser would post from the admin's change form (id="<model>_form")."""

    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._select_seen: list[str] = []
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == self.form_id:
            self.inside = True
        if not self.inside or "name" not in a and tag != "option":
            return
        name = a.get("name")
        if tag == "input":
            kind = a.get("type", "text")
            if kind in ("submit", "button", "file", "image"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.data.setdefault(name, []).append(a.get("value", "on"))
                return
            self.data.setdefault(name, []).append(a.get("value", ""))
        elif tag == "select":
            self._select = name
            self.data.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select].append(a.get("value", ""))
        elif tag == "textarea":
            self._textarea = name
            self.data[name] = [""]

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea][0] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            if self._textarea:
                # Django renders a newline after <textarea>; a browser drops it.
                self.data[self._textarea][0] = self.data[self._textarea][0].removeprefix("\n")
            self._textarea = None


def form_data(response, model) -> dict[str, list[str]]:
    parser = _FormData(f"{model._meta.model_name}_form")
    parser.feed(response.content.decode())
    assert parser.data, f"no form found on {model._meta.label}'s admin page"
    return parser.data


def relation_fields(model) -> list[models.Field]:
    return [
        f
        for f in model._meta.get_fields()
        if f.concrete and (f.many_to_one or f.one_to_one or f.many_to_many)
    ]


def attack_points(model, ma) -> list[tuple[str, type[models.Model]]]:
    """(posted name, model it points at) for every relation of the object and its inline
    rows: the organization itself, fields the form shows and fields it does not, and the ids
    of the inline rows."""
    points = [(f.name, f.related_model) for f in relation_fields(model)]
    for inline in ma.inlines:
        fk = _get_foreign_key(model, inline.model)
        prefix = fk.remote_field.get_accessor_name(model=False).replace("+", "")
        points.append((f"{prefix}-0-id", inline.model))
        points += [(f"{prefix}-0-{f.name}", f.related_model) for f in relation_fields(inline.model)]
    return points


def rows_of(models_: list) -> dict:
    """Every row of these models, of every organization, with every column and M2M."""
    snap = {}
    for m in models_:
        manager = m.all_objects if issubclass(m, TenantModel) else m._default_manager
        m2m = m._meta.many_to_many
        rows = []
        for obj in manager.order_by("pk"):
            row = {f.attname: getattr(obj, f.attname) for f in m._meta.concrete_fields}
            for f in m2m:
                row[f.name] = _linked(obj, f)
            rows.append(row)
        snap[m._meta.label] = rows
    return snap


def _linked(obj, field) -> list[int]:
    """The ids a many-to-many field links `obj` to, read through the link table (the related
    manager is tenant-scoped, and would hide a link to another organization's row)."""
    links = field.remote_field.through.objects.filter(**{field.m2m_field_name(): obj.pk})
    return sorted(links.values_list(field.m2m_reverse_name(), flat=True))


def relations_only(snap: dict) -> dict:
    """The relation columns of a snapshot (what a refused id would have changed)."""
    out = {}
    for label, rows in snap.items():
        from django.apps import apps

        m = apps.get_model(label)
        keep = {f.attname for f in relation_fields(m) if not f.many_to_many}
        keep |= {f.name for f in m._meta.many_to_many}
        out[label] = [{k: v for k, v in row.items() if k in keep} for row in rows]
    return out


def errors_of(response) -> set[str]:
    """The posted names that have an error on the re-rendered admin page."""
    ctx = response.context
    names = set(ctx["adminform"].form.errors)
    for inline in ctx["inline_admin_formsets"]:
        formset = inline.formset
        for i, form in enumerate(formset.forms):
            names |= {f"{formset.prefix}-{i}-{name}" for name in form.errors}
    return names


@pytest.mark.parametrize("model", TENANT_ADMINS, ids=lambda m: m._meta.label)
@pytest.mark.parametrize("who", ["org_admin", "superuser"])
def test_admin_change_forms_refuse_another_organizations_ids(client, graphs, root, model, who):
    own, foreign = graphs
    client.force_login(own["admin"] if who == "org_admin" else root)
    ma = admin.site._registry[model]
    obj = own[model]
    url = reverse(admin_urlname(model._meta, "change"), args=[obj.pk])
    page = client.get(url)
    assert page.status_code == 200
    watched = [model] + [inline.model for inline in ma.inlines] + [Membership]
    if not page.context["has_change_permission"]:  # a read-only record: every post refused
        before = rows_of(watched)
        for name, related in attack_points(model, ma):
            response = client.post(url, {name: str(target(foreign, related).pk)})
            assert response.status_code == 403, name
        assert rows_of(watched) == before
        return
    data = form_data(page, model)

    # The form as the page shows it saves: a refusal below is the foreign id's doing.
    saved = client.post(url, data)
    assert saved.status_code == 302, errors_of(saved)

    for name, related in attack_points(model, ma):
        before = rows_of(watched)
        hostile = {**data, name: [str(target(foreign, related).pk)]}
        response = client.post(url, hostile)
        after = rows_of(watched)
        if name in data:  # a field of the form: refused on that field, nothing saved
            assert response.status_code == 200, f"{name}: a foreign id was saved"
            assert name in errors_of(response), f"{name}: no error on the field"
            assert after == before, f"{name}: a refused form changed rows"
        else:  # not a field of the form: ignored
            assert response.status_code in (200, 302)
            assert relations_only(after) == relations_only(before), f"{name} was written"
        assert obj.__class__.all_objects.get(pk=obj.pk).organization_id == obj.organization_id


@pytest.mark.parametrize("model", TENANT_ADMINS, ids=lambda m: m._meta.label)
@pytest.mark.parametrize("who", ["org_admin", "superuser"])
def test_admin_add_forms_refuse_another_organizations_ids(client, graphs, root, model, who, org):
    own, foreign = graphs
    ma = admin.site._registry[model]
    user = own["admin"] if who == "org_admin" else root
    request = RequestFactory().get("/")
    request.user = user
    request.organization = org if who == "org_admin" else None
    request.membership = Membership.objects.filter(user=user).first()
    if not ma.has_add_permission(request):  # nobody adds these here: the add view refuses
        client.force_login(user)
        url = reverse(admin_urlname(model._meta, "add"))
        assert client.post(url, {"organization": str(org.pk)}).status_code == 403
        return
    with org_context(org if who == "org_admin" else None):
        form_class = ma.get_form(request, None)
        assert issubclass(form_class, TenantRelationsMixin)
        choice_fields = {
            name: field.queryset.model
            for name, field in form_class.base_fields.items()
            if isinstance(field, forms.ModelChoiceField) and name != "organization"
        }
        own_obj = own[model]
        data = {}
        for name, field in form_class.base_fields.items():
            value = getattr(own_obj, name, None)
            if isinstance(field, forms.ModelMultipleChoiceField):
                pks = _linked(own_obj, model._meta.get_field(name))
                data[name] = _many(field, [str(pk) for pk in pks])
            elif isinstance(field, forms.ModelChoiceField):
                data[name] = str(getattr(own_obj, f"{name}_id", None) or "")
            elif value is not None:
                data[name] = field.prepare_value(value)
        if "organization" in form_class.base_fields:
            data["organization"] = str(org.pk)
        baseline = form_class(data=data)
        baseline.is_valid()
        for name, related in choice_fields.items():
            hostile = {**data, name: str(target(foreign, related).pk)}
            if isinstance(form_class.base_fields[name], forms.ModelMultipleChoiceField):
                hostile[name] = _many(form_class.base_fields[name], [hostile[name]])
            form = form_class(data=hostile)
            assert not form.is_valid(), f"{name} accepted another organization's row"
            # refused for the foreign row (the own row may be refused too, for being taken)
            assert form.errors.get(name) not in (None, baseline.errors.get(name)), name


def _many(field, pks: list[str]):
    """Several ids as the field's widget reads them: a raw-id box takes "1,2", a select a list."""
    return ",".join(pks) if isinstance(field.widget, ManyToManyRawIdWidget) else pks


def test_every_admin_form_and_inline_carries_the_relation_check(rf, graphs, org):
    own, _ = graphs
    request = rf.get("/")
    request.user, request.organization = own["admin"], org
    request.membership = Membership.objects.get(user=own["admin"])
    with org_context(org):
        for model in TENANT_ADMINS:
            ma = admin.site._registry[model]
            assert issubclass(ma.get_form(request, own[model]), TenantRelationsMixin), model
            for inline in ma.get_inline_instances(request, own[model]):
                formset = inline.get_formset(request, own[model])
                assert issubclass(formset.form, TenantRelationsMixin), inline


# -- Memberships and users ------------------------------------------------------------------


def test_an_org_admin_cannot_move_a_membership_to_another_organization(client, graphs, other_org):
    own, foreign = graphs
    client.force_login(own["admin"])
    membership = Membership.objects.get(user=own["admin"])
    url = reverse("admin:orgs_membership_change", args=[membership.pk])
    response = client.post(
        url,
        {"user": str(own["admin"].pk), "organization": str(other_org.pk), "role": "admin"},
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.organization_id == own[Account].organization_id
    assert not Membership.objects.filter(user=own["admin"], organization=other_org).exists()
    # and the next request is still inside the admin's own organization
    page = client.get("/admin/accounts/account/")
    assert "acme account" in page.content.decode()
    assert "globex account" not in page.content.decode()


def test_an_org_admin_changes_only_a_members_role(client, graphs):
    own, foreign = graphs
    client.force_login(own["admin"])
    membership = Membership.objects.get(user=own["csm"])
    url = reverse("admin:orgs_membership_change", args=[membership.pk])
    response = client.post(url, {"user": str(foreign["csm"].pk), "role": Role.MANAGER})
    assert response.status_code == 302
    membership.refresh_from_db()
    assert (membership.user_id, membership.role) == (own["csm"].pk, Role.MANAGER)
    foreign_membership = Membership.objects.get(user=foreign["csm"])
    url = reverse("admin:orgs_membership_change", args=[foreign_membership.pk])
    assert client.post(url, {"role": Role.ADMIN}).status_code in (302, 404)
    foreign_membership.refresh_from_db()
    assert foreign_membership.role == Role.CSM


def test_users_are_read_only_for_an_org_admin_and_show_only_their_membership(client, graphs):
    own, foreign = graphs
    both = UserFactory(username="both")
    Membership.objects.create(user=both, organization=own["csm"].memberships.get().organization)
    Membership.objects.create(
        user=both, organization=foreign["csm"].memberships.get().organization, role=Role.ADMIN
    )
    client.force_login(own["admin"])
    url = reverse("admin:orgs_user_change", args=[both.pk])
    page = client.get(url).content.decode()
    assert "Acme CS" in page and "Globex CS" not in page
    client.post(url, {"username": "renamed", "is_superuser": "on"})
    both.refresh_from_db()
    assert (both.username, both.is_superuser) == ("both", False)
    assert client.get(reverse("admin:orgs_user_change", args=[foreign["csm"].pk])).status_code in (
        302,
        404,
    )


# -- Forms of the product -------------------------------------------------------------------

APP_MODULES = (
    "orgs",
    "accounts",
    "health",
    "playbooks",
    "triggers",
    "lifecycle",
    "workspace",
    "reports",
    "api",
    "configuration",
    "operations",
    "surveys",
)


def _app_form_classes() -> list[type[forms.BaseForm]]:
    for app in APP_MODULES:
        for module in ("forms", "admin", "views"):
            with contextlib.suppress(ModuleNotFoundError):
                importlib.import_module(f"{app}.{module}")
    found, todo = [], [forms.BaseForm]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            todo.append(sub)
            if sub.__module__.split(".")[0] in APP_MODULES and not sub.__name__.startswith("_"):
                found.append(sub)
    return found


def _has_relations(cls) -> bool:
    return any(isinstance(f, forms.ModelChoiceField) for f in cls.base_fields.values())


def _form_cases(own, org, csm):
    """Each product form with a relation: how to build it for `own`, and valid other data."""
    from accounts.forms import AccountReassignForm, PortfolioFilterForm
    from api.forms import EraseForm, FiringExportForm, PlaybookExportForm
    from configuration.forms import (
        PersonaCapForm,
        PersonaCapRemoveForm,
        PersonaDraftForm,
        PersonaForm,
        TriggerDraftForm,
    )
    from configuration.members.forms import MemberDeactivateForm
    from configuration.playbook_templates.forms import PlaybookTemplateForm, TemplateStepForm
    from configuration.surveys.forms import SurveyCampaignForm
    from playbooks.forms import (
        ContactLogForm,
        PlaybookCloseForm,
        PlaybookReassignForm,
        PlaybookStartForm,
    )
    from reports.admin import CoverageGoalForm
    from reports.filters import ReportFilterForm
    from reports.models import CoverageGoal
    from workspace.forms import AccountContactForm, AccountPlaybookStartForm

    account = own[Account]
    playbook = own[Playbook]
    expansion = Playbook.all_objects.create(
        organization=org,
        account=account,
        kind="expansion",
        title="Offer",
        opened_on=dt.date.today(),
    )
    contact = {"kind": "call", "summary": "Talked"}
    return {
        PortfolioFilterForm: [
            (dict(org=org, user=csm, today=dt.date.today()), {}, "persona"),
        ],
        AccountReassignForm: [(dict(org=org), {}, "owner")],
        ContactLogForm: [(dict(account_id=account.pk), contact, "contact")],
        AccountContactForm: [
            (dict(account_id=account.pk), contact, "contact"),
            (dict(account_id=account.pk), contact, "playbook"),
        ],
        PlaybookCloseForm: [
            (dict(playbook=playbook), {"outcome": "churned"}, "churn_reason"),
            (dict(playbook=expansion), {"outcome": "won", "mrr_won": "5"}, "opportunity_product"),
        ],
        PlaybookReassignForm: [(dict(org=org), {}, "owner")],
        PlaybookStartForm: [({}, {}, "template")],
        AccountPlaybookStartForm: [(dict(account=account), {}, "template")],
        ReportFilterForm: [
            (dict(org=org, user=csm, role="manager", today=dt.date.today()), {}, name)
            for name in ("persona", "product", "csm")
        ],
        CoverageGoalForm: [(dict(instance=own[CoverageGoal]), {"goal_pct": "70"}, "persona")],
        EraseForm: [({}, {"reason": "Their email of 1 June"}, "contact")],
        PlaybookExportForm: [({}, {}, "owner")],
        FiringExportForm: [({}, {}, "trigger")],
        TriggerDraftForm: [
            ({}, {"kind": "retention"}, n) for n in ("persona", "product", "template")
        ],
        PersonaForm: [({}, {"name": "P", "slug": "p"}, "hand_picked")],
        PersonaCapForm: [({}, {"per_csm": "3"}, "persona")],
        PersonaCapRemoveForm: [({}, {}, "persona")],
        PersonaDraftForm: [({}, {"name": "P", "slug": "p"}, "hand_picked")],
        MemberDeactivateForm: [({}, {}, "handover_to")],
        PlaybookTemplateForm: [({}, {"name": "T", "kind": "custom"}, "persona")],
        TemplateStepForm: [
            ({}, {"title": "Meet", "due_offset_days": "1", "assignee": "member"}, "assignee_user")
        ],
        SurveyCampaignForm: [
            (
                {},
                {"name": "S", "kind": "nps", "cadence": "every", "days": "30", "link_days": "30"},
                n,
            )
            for n in ("persona", "followup_template")
        ],
    }


def test_every_product_form_with_a_relation_is_walked_and_refuses_foreign_ids(graphs, org):
    own, foreign = graphs
    with org_context(org):
        cases = _form_cases(own, org, own["csm"])
        relational = [c for c in _app_form_classes() if _has_relations(c)]
        admin_forms = {ma.form for ma in admin.site._registry.values()}
        unwalked = [c for c in relational if c not in cases and c not in admin_forms]
        assert unwalked == [], "add these forms to _form_cases"
        for cls, variants in cases.items():
            assert issubclass(cls, TenantRelationsMixin), cls
            for kwargs, data, name in variants:
                model = cls(**kwargs).fields[name].queryset.model
                mine = {**data, name: str(target(own, model).pk)}
                good = cls(data=mine, **kwargs)
                good.is_valid()
                assert name not in good.errors, (cls, name, good.errors)
                bad = cls(data={**data, name: str(target(foreign, model).pk)}, **kwargs)
                assert not bad.is_valid() and name in bad.errors, (cls, name)


def test_the_relation_check_holds_where_a_form_replaces_the_queryset(graphs, org):
    """A subclass that widens a field's queryset after construction is still refused on clean."""
    from accounts.forms import AccountReassignForm

    own, foreign = graphs
    with org_context(org):
        form = AccountReassignForm(data={"owner": str(foreign["csm"].pk)}, org=org)
        form.fields["owner"].queryset = User.objects.all()
        assert not form.is_valid()
        assert "member of this organization" in str(form.errors["owner"])


# -- The htmx endpoints -----------------------------------------------------------------------


def test_endpoints_refuse_another_organizations_ids_and_change_nothing(client, graphs, org):
    own, foreign = graphs
    manager = UserFactory(username="acme-manager")
    Membership.objects.create(user=manager, organization=org, role=Role.MANAGER)
    client.force_login(manager)
    account, playbook = own[Account], own[Playbook]
    posts = [
        (reverse("accounts:reassign", args=[account.pk]), {"owner": foreign["csm"].pk}),
        (reverse("playbooks:reassign", args=[playbook.pk]), {"owner": foreign["csm"].pk}),
        (
            reverse("playbooks:log_contact", args=[playbook.pk]),
            {"contact": foreign[Contact].pk, "kind": "call", "summary": "Hello"},
        ),
        (
            reverse("playbooks:close", args=[playbook.pk]),
            {"outcome": "churned", "churn_reason": foreign[ChurnReason].pk},
        ),
        (
            reverse("workspace:account_start", args=[account.pk]),
            {"template": foreign[PlaybookTemplate].pk},
        ),
        (
            reverse("workspace:account_contact", args=[account.pk]),
            {"playbook": foreign[Playbook].pk, "kind": "call", "summary": "Hello"},
        ),
    ]
    watched = [Account, Playbook, Interaction, PlaybookStep]
    for url, data in posts:
        before = rows_of(watched)
        response = client.post(url, data, HTTP_HX_REQUEST="true")
        assert response.status_code in (400, 404, 409, 422), (url, response.status_code)
        assert rows_of(watched) == before, url
