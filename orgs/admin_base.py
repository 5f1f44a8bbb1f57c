"""ModelAdmin base that keeps the Django admin inside the user's organization.

Superusers see every organization (through `all_objects`); an organization's admin sees only
its rows, through the same tenant manager every view uses, and gets a 404 for anyone else's.
Every form runs inside one organization: the user's, or for a superuser the organization of
the object at hand; its relation fields offer and accept only rows of that organization and
its members (orgs/relations.py).
"""

from contextlib import contextmanager

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import Http404

from .models import Organization
from .permissions import can_configure
from .relations import TenantModelForm, relation_scope
from .tenancy import TenantModel, current_org_id, org_context


def _relation_choices(model):
    """What a relation field of an admin form offers: the rows of the organization in
    context; a superuser outside any organization sees all, checked against the organization
    chosen when the form is cleaned."""
    org_id = current_org_id()
    if org_id is not None:
        return relation_scope(model, org_id)
    if issubclass(model, TenantModel):
        return model.all_objects.all()
    return model._default_manager.all()


def _as_pk(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class TenantFormfieldsMixin:
    """Relation fields of admin forms and inlines take their choices from the organization."""

    form = TenantModelForm

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        kwargs.setdefault("queryset", _relation_choices(db_field.related_model))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs.setdefault("queryset", _relation_choices(db_field.related_model))
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class TenantAdmin(TenantFormfieldsMixin, admin.ModelAdmin):
    list_per_page = 50

    def get_queryset(self, request):
        if request.user.is_superuser:
            qs = self.model.all_objects.all()
            ordering = self.get_ordering(request)
            return qs.order_by(*ordering) if ordering else qs
        return super().get_queryset(request)

    def get_exclude(self, request, obj=None):
        excluded = list(super().get_exclude(request, obj) or [])
        if not request.user.is_superuser:
            excluded.append("organization")
        return excluded

    def save_model(self, request, obj, form, change):
        self.assign_organization(request, obj, change)
        super().save_model(request, obj, form, change)

    def assign_organization(self, request, obj, change) -> None:
        """A new row an organization's admin adds is their organization's (a superuser chose
        one on the form). For a save_model that writes through a service instead."""
        if not request.user.is_superuser and not change:
            obj.organization = request.organization

    def save_formset(self, request, form, formset, change):
        """Inline rows belong to their parent's organization."""
        instances = formset.save(commit=False)
        for obj in instances:
            obj.organization_id = form.instance.organization_id
            obj.save()
        for obj in formset.deleted_objects:
            obj.delete()
        formset.save_m2m()

    def _guard(self, request, object_id):
        """404 for an id that is not one of the user's organization's rows (or not an id)."""
        if object_id is None:
            return
        try:
            found = self.get_queryset(request).filter(pk=object_id).exists()
        except (ValueError, TypeError, ValidationError):
            found = False
        if not found:
            raise Http404("No such object in your organization.")

    @contextmanager
    def _object_organization(self, request, object_id):
        """A superuser works on an object inside its organization (an add form: inside the
        organization it posts, if any), so relation fields offer that organization's rows."""
        if not request.user.is_superuser:
            yield
            return
        org_id = None
        if object_id is not None:
            org_id = (
                self.model.all_objects.filter(pk=object_id)
                .values_list("organization_id", flat=True)
                .first()
            )
        else:
            org_id = _as_pk(request.POST.get("organization") or request.GET.get("organization"))
            if org_id is not None and not Organization.objects.filter(pk=org_id).exists():
                org_id = None
        with org_context(org_id):
            yield

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        self._guard(request, object_id)
        with self._object_organization(request, object_id):
            response = super().changeform_view(request, object_id, form_url, extra_context)
            # Rendered here, inside the organization, not later by the handler.
            return response.render() if hasattr(response, "render") else response

    def delete_view(self, request, object_id, extra_context=None):
        self._guard(request, object_id)
        with self._object_organization(request, object_id):
            response = super().delete_view(request, object_id, extra_context)
            return response.render() if hasattr(response, "render") else response

    def history_view(self, request, object_id, extra_context=None):
        self._guard(request, object_id)
        return super().history_view(request, object_id, extra_context)

    # Only an organization's admins reach configuration (superusers always).
    def has_module_permission(self, request):
        return can_configure(request)

    def has_view_permission(self, request, obj=None):
        return can_configure(request)

    def has_add_permission(self, request):
        return can_configure(request)

    def has_change_permission(self, request, obj=None):
        return can_configure(request)

    def has_delete_permission(self, request, obj=None):
        return can_configure(request)


class RecordAdmin(TenantAdmin):
    """Rows the product writes and people rely on as history (the nightly record, the MRR
    ledger, decided alerts, forecasts): read here, never edited by hand (the services and
    the nightly commands write them); only an operator (a superuser) may delete one."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


class TenantInline(TenantFormfieldsMixin, admin.TabularInline):
    """Inline rows of a TenantAdmin: whoever may edit the parent may edit them (the parent's
    admin already checks the role and the organization)."""

    extra = 0

    def has_view_permission(self, request, obj=None):
        return can_configure(request)

    def has_add_permission(self, request, obj=None):
        return can_configure(request)

    def has_change_permission(self, request, obj=None):
        return can_configure(request)

    def has_delete_permission(self, request, obj=None):
        return can_configure(request)
