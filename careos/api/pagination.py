from rest_framework.pagination import CursorPagination


class CreatedCursorPagination(CursorPagination):
    """Newest first, stable under inserts; ``?cursor=`` from ``next``, page size ``?pageSize=``."""

    ordering = ("-created_at", "-pk")
    page_size_query_param = "pageSize"
    max_page_size = 200
