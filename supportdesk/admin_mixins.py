class ViewOnlyAdminMixin:
    """An admin page that shows rows and never adds, changes or deletes them (records of what happened:
    webhook deliveries, satisfaction ratings)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
