import pytest

from careos.models import IdempotencyRecord

pytestmark = pytest.mark.django_db


def test_idempotency_records_changelist_is_read_only(admin_client, django_assert_max_num_queries):
    for index in range(3):
        IdempotencyRecord.objects.create(
            owner_ref="ptr_acme", key=f"k{index}", method="POST", path="/api/v1/x", request_hash="h"
        )
    with django_assert_max_num_queries(12):
        response = admin_client.get("/admin/careos/idempotencyrecord/?q=ptr_acme")
    assert response.status_code == 200
    assert response.content.count(b"ptr_acme") >= 3
    assert admin_client.get("/admin/careos/idempotencyrecord/add/").status_code == 403
    record = IdempotencyRecord.objects.first()
    response = admin_client.post(
        f"/admin/careos/idempotencyrecord/{record.pk}/change/", {"key": "changed"}
    )
    assert response.status_code == 403
    record.refresh_from_db()
    assert record.key != "changed"
