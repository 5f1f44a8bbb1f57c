"""Which rows a relation may point at: one rule, used by every form, admin form and (later)
API serializer that accepts a relation, so no organization can reach another through one.

A tenant row may point at rows of its own organization only, at users who are members of it,
and at that organization itself. `relation_scope` gives the queryset of allowed targets (for
the choices a form shows); `TenantRelationsMixin` re-checks every chosen row when a form is
cleaned, whatever queryset a subclass put on the field, and refuses the field otherwise.
"""

from __future__ import annotations

import logging

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import models
from django.utils.translation import gettext as _

from .models import Membership, Organization
from .tenancy import TenantModel, current_org_id, org_context

logger = logging.getLogger(__name__)


def relation_scope(model: type[models.Model], org_id: int) -> models.QuerySet:
    """The rows of `model` that an object of organization `org_id` may point at."""
    if issubclass(model, TenantModel):
        return model.all_objects.filter(organization_id=org_id)
    if issubclass(model, get_user_model()):
        return model._default_manager.filter(
            pk__in=Membership.objects.filter(organization_id=org_id).values("user_id")
        )
    if issubclass(model, Organization):
        return model._default_manager.filter(pk=org_id)
    raise ImproperlyConfigured(
        f"no organization scope is defined for relations to {model._meta.label}"
    )


def foreign_targets(model: type[models.Model], rows: list, org_id: int) -> set:
    """The primary keys of those `rows` that an object of `org_id` may NOT point at. A tenant
    row whose organization is loaded is checked without a query."""
    bad, unknown = set(), set()
    for row in rows:
        if isinstance(row, TenantModel) and "organization_id" in row.__dict__:
            if row.organization_id != org_id:
                bad.add(row.pk)
        else:
            unknown.add(row.pk)
    if unknown:
        scope = relation_scope(model, org_id).filter(pk__in=unknown)
        bad |= unknown - set(scope.values_list("pk", flat=True))
    return bad


def _model_choice_fields(form: forms.BaseForm):
    for name, field in form.fields.items():
        if isinstance(field, forms.ModelChoiceField):  # ModelMultipleChoiceField included
            yield name, field


class TenantRelationsMixin:
    """For forms (plain or model forms) whose model-choice fields must stay in one
    organization: the form's instance's, or `tenant_org_id` (set by the admin), or the
    organization in context; a superuser's add form takes the `organization` it chooses.

    At construction the choices are narrowed to that organization; when cleaned, every chosen
    row is checked again (subclasses may replace a field's queryset) and a row of another
    organization, or a user who is not a member, is an error on that field."""

    tenant_org_id: int | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        org_id = self._relations_org_id(cleaned=False)
        if org_id is None:
            return
        for name, field in _model_choice_fields(self):
            if name != "organization":
                scope = relation_scope(field.queryset.model, org_id)
                field.queryset = field.queryset.filter(pk__in=scope.values("pk"))

    def _relations_org_id(self, *, cleaned: bool) -> int | None:
        """The organization the relations must belong to. A form with an `organization`
        field (a superuser's) takes the one chosen; before cleaning it is not known yet."""
        if "organization" in self.fields:
            chosen = getattr(self, "cleaned_data", {}).get("organization") if cleaned else None
            return chosen.pk if chosen is not None else None
        instance = getattr(self, "instance", None)
        if instance is not None and getattr(instance, "organization_id", None):
            return instance.organization_id
        return self.tenant_org_id or current_org_id()

    def _post_clean(self):
        org_id = self._relations_org_id(cleaned=True)
        instance = getattr(self, "instance", None)
        if isinstance(instance, TenantModel):
            if org_id is None:
                # A superuser's form with no organization chosen: the row cannot be validated
                # (its constraints are per organization); the organization field says why.
                if "organization" not in self.errors:
                    self.add_error(
                        "organization" if "organization" in self.fields else None,
                        _("Choose the organization this belongs to."),
                    )
                return
            if not instance.organization_id:
                # A new row gets its organization before validation, so the constraints
                # that include it (unique names and slugs) are checked.
                instance.organization_id = org_id
            with org_context(org_id):
                super()._post_clean()
        else:
            super()._post_clean()
        self._check_relations(org_id)
        self._check_organization_unique()

    def _check_relations(self, org_id: int | None) -> None:
        fields = [
            (name, field)
            for name, field in _model_choice_fields(self)
            if self.cleaned_data.get(name) not in (None, "")
        ]
        for name, field in fields:
            if name == "organization":
                continue  # a superuser choosing the organization itself
            value = self.cleaned_data[name]
            rows = list(value) if isinstance(field, forms.ModelMultipleChoiceField) else [value]
            model = field.queryset.model
            if org_id is None:
                bad = {row.pk for row in rows}
            else:
                bad = foreign_targets(model, rows, org_id)
            if bad:
                logger.warning(
                    "refused %s.%s: %s %s outside organization %s",
                    type(self).__name__,
                    name,
                    model._meta.label,
                    sorted(bad),
                    org_id,
                )
                self.add_error(name, _refusal(model, bad))

    def _check_organization_unique(self) -> None:
        """Unique constraints that include the organization (a trigger's name, a persona's
        slug) are skipped by Django's form validation when the organization is not a form
        field; check them here so a duplicate is an error on its field, not a database error."""
        instance = getattr(self, "instance", None)
        if not isinstance(instance, TenantModel) or not instance.organization_id:
            return
        if "organization" in self.fields:
            return  # Django validates these with the organization field itself
        for constraint in instance._meta.constraints:
            fields = getattr(constraint, "fields", ())
            if not isinstance(constraint, models.UniqueConstraint) or "organization" not in fields:
                continue
            own = [f for f in fields if f != "organization"]
            if any(f not in self.fields or f in self.errors for f in own):
                continue
            try:
                with org_context(instance.organization_id):
                    constraint.validate(type(instance), instance)
            except ValidationError:
                opts = instance._meta
                if not own:  # one per organization, e.g. its default health model
                    self.add_error(
                        None,
                        _("This organization already has a %(model)s of this kind.")
                        % {"model": opts.verbose_name},
                    )
                    continue
                names = ", ".join(str(opts.get_field(f).verbose_name) for f in own)
                self.add_error(
                    own[0],
                    _("A %(model)s with this %(fields)s already exists in this organization.")
                    % {"model": opts.verbose_name, "fields": names},
                )


def _refusal(model: type[models.Model], bad: set) -> str:
    if issubclass(model, get_user_model()):
        return _("Choose a member of this organization (user %(ids)s is not one).") % {
            "ids": ", ".join(str(pk) for pk in sorted(bad))
        }
    return _("Choose a %(model)s of this organization (%(ids)s is not one).") % {
        "model": model._meta.verbose_name,
        "ids": ", ".join(str(pk) for pk in sorted(bad)),
    }


class TenantForm(TenantRelationsMixin, forms.Form):
    """A plain form whose relations stay in the organization of the request."""


class TenantModelForm(TenantRelationsMixin, forms.ModelForm):
    """A model form whose relations stay in the organization of its instance."""
