"""The floor of ``bench/ingest.py``: its own URLconf, served only by the benchmark.

``POST /bench/floor`` does the irreducible work of one lead ingest and nothing else: the same
partner authentication (API key lookup, scope check, rate limit: one Redis round trip), JSON
parsing, one RSA-OAEP-SHA256 decrypt with a key of the same size, and the same number of
single-row INSERTs (``BENCH_FLOOR_INSERTS``, counted from a real ingest) in one transaction.
The real ingest is served by the same server at ``/api/v1/leads/ingest`` (careos.urls).
"""

import base64
import os

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import connection, transaction
from django.urls import include, path
from rest_framework.request import Request
from rest_framework.response import Response

from leads.models import LeadEncryptionKey
from leads.services.keys import OAEP
from partners.api.base import PartnerAPIView
from partners.scopes import WRITE_LEADS

INSERTS = int(os.environ.get("BENCH_FLOOR_INSERTS", "10"))
TABLE = "bench_ingest_floor"
_keys: dict[str, rsa.RSAPrivateKey] = {}


def _key(kid: str) -> rsa.RSAPrivateKey:
    if kid not in _keys:
        pem = LeadEncryptionKey.objects.values_list("private_key_pem", flat=True).get(kid=kid)
        loaded = serialization.load_pem_private_key(pem.encode(), password=None)
        assert isinstance(loaded, rsa.RSAPrivateKey)
        _keys[kid] = loaded
    return _keys[kid]


class FloorView(PartnerAPIView):
    required_scopes = {"POST": WRITE_LEADS}
    rate_limit_bucket = "lead_ingest"

    @property
    def rate_limit_per_minute(self) -> int:
        from django.conf import settings

        return settings.LEADS_INGEST_RATE_LIMIT_PER_MINUTE

    def post(self, request: Request) -> Response:
        data = request.data
        phone = _key(data["key_id"]).decrypt(base64.b64decode(data["encrypted_phone"]), OAEP)
        with transaction.atomic(), connection.cursor() as cursor:
            for n in range(INSERTS):
                cursor.execute(
                    f"INSERT INTO {TABLE} (source_lead_id, n, value) VALUES (%s, %s, %s)",  # noqa: S608
                    [data["source_lead_id"], n, phone.decode()],
                )
        return Response({"lead_id": data["source_lead_id"], "status": "new"}, status=201)


urlpatterns = [
    path("bench/floor", FloorView.as_view()),
    path("", include("careos.urls")),
]
