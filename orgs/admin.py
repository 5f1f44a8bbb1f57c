"""Admin for organizations, users and memberships."""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.shortcuts import render

from .models import Membership, Organization, User
from .permissions import can_configure
from .services import (
    MembershipError,
    membership_may_be_removed,
    membership_role_check,
    membership_set_role,
    memberships_removable,
)


class MembershipInline(admin.TabularInline):
    """A user's memberships; an organization's admin sees only the one in their organization
    (the user page is read-only for them: only superusers change users)."""

    model = Membership
    extra = 0
    autocomplete_fields = ["organization"]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(organization=request.organization)

    def has_view_permission(self, request, obj=None):
        return can_configure(request)

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(User)
class CsUserAdmin(UserAdmin):
    inlines = [MembershipInline]
    list_display = ["username", "first_name", "last_name", "email", "is_staff", "is_active"]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(memberships__organization=request.organization).distinct()

    def has_module_permission(self, request):
        return can_configure(request)

    def has_view_permission(self, request, obj=None):
        return can_configure(request)

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "currency", "timezone", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(pk=getattr(request.organization, "pk", None))

    def has_module_permission(self, request):
        return can_configure(request)

    def has_view_permission(self, request, obj=None):
        return can_configure(request)

    def has_change_permission(self, request, obj=None):
        return can_configure(request)

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


class MembershipForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ["user", "organization", "role"]

    def clean_role(self):
        role = self.cleaned_data["role"]
        if self.instance.pk:
            try:
                membership_role_check(membership=self.instance, role=role)
            except MembershipError as exc:
                raise forms.ValidationError(exc.message) from exc
        return role


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """An organization's admin changes the role of their organization's members, nothing
    else: who the member is and which organization it is are a superuser's to change."""

    form = MembershipForm
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role"]
    autocomplete_fields = ["user", "organization"]

    def save_model(self, request, obj, form, change):
        if change and "role" in form.changed_data and not request.user.is_superuser:
            membership_set_role(membership=obj, role=obj.role, acting_user=request.user)
            return
        super().save_model(request, obj, form, change)

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return ()
        return ("user", "organization", "created_at")

    def get_queryset(self, request):
        qs = super().get_queryset(request).select_related("user", "organization")
        if request.user.is_superuser:
            return qs
        return qs.filter(organization=request.organization)

    def has_module_permission(self, request):
        return can_configure(request)

    def has_view_permission(self, request, obj=None):
        return can_configure(request)

    def has_change_permission(self, request, obj=None):
        return can_configure(request)

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        if obj is not None and not membership_may_be_removed(membership=obj):
            return False  # the organization's only admin
        return can_configure(request)

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, memberships_removable(queryset=queryset))


admin.site.site_header = "csplatform configuration"
admin.site.site_title = "csplatform"


def _admin_has_permission(request):
    return request.user.is_active and (request.user.is_superuser or can_configure(request))


admin.site.has_permission = _admin_has_permission
_admin_login = admin.site.login


def _login_or_admins_only(request, extra_context=None):
    """A signed-in member who is not an admin is told the configuration is for admins,
    instead of being shown a second login form."""
    if request.user.is_authenticated and not _admin_has_permission(request):
        return render(request, "orgs/admins_only.html", status=403)
    return _admin_login(request, extra_context)


admin.site.login = _login_or_admins_only
