from django.contrib import admin
from django.http import HttpRequest

from careos.models import IdempotencyRecord


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    """Read-only: for answering "why did my retry not create anything?"."""

    list_display = ("key", "owner_ref", "method", "path", "response_status", "created_at")
    list_filter = ("method", "response_status", "created_at")
    search_fields = ("=owner_ref", "=key", "path")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
