"""ModelAdmin base that keeps the Django admin inside the user's organization.

Superusers see every organization (through `all_objects`); an organization's admin sees only
its rows, through the same tenant manager every view uses, and gets a 404 for anyone else's.
"""

from django.contrib import admin
from django.http import Http404

from .permissions import can_configure


class TenantAdmin(admin.ModelAdmin):
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
        if not request.user.is_superuser and not change:
            obj.organization = request.organization
        super().save_model(request, obj, form, change)

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
        if object_id is not None and not self.get_queryset(request).filter(pk=object_id).exists():
            raise Http404("No such object in your organization.")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        self._guard(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        self._guard(request, object_id)
        return super().delete_view(request, object_id, extra_context)

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


class TenantInline(admin.TabularInline):
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
