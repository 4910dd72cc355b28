"""Listing images in an S3-compatible bucket (django-storages' S3 backend): moto's S3 server
on loopback stands in for S3 / MinIO at the HTTP boundary; the upload goes through the real
partner API and the storage API, and we look at the bucket with boto3."""

import base64
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from partners.models import MarketplaceListingMedia
from tests.partners.factories import PartnerFactory
from tests.partners.marketplace_helpers import draft_listing, image_bytes

CREDENTIALS = {"access_key": "testing-access-key", "secret_key": "testing-secret-key"}
REGION = "us-east-1"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A real HTTP S3 fake on a free loopback port."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint):
    return boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name=REGION,
        aws_access_key_id=CREDENTIALS["access_key"],
        aws_secret_access_key=CREDENTIALS["secret_key"],
    )


@pytest.fixture
def bucket(s3, s3_endpoint, settings) -> str:
    """A fresh bucket, and STORAGES["default"] the S3 backend pointed at it (as the settings
    build it from MEDIA_S3_*). Changing STORAGES resets Django's cached storages
    (django.test.signals.storages_changed), so uploads and deletes really go to moto."""
    name = f"media-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": name,
                "endpoint_url": s3_endpoint,
                "region_name": REGION,
                **CREDENTIALS,
            },
        },
    }
    return name


@pytest.fixture
def mkt_client(partner_api_client):
    return partner_api_client(partner=PartnerFactory(), scopes=["manage:marketplace"])


def _upload(client, listing, data: bytes):
    """As tests/partners/test_marketplace_media.py uploads: base64 in the JSON body."""
    return client.post(
        f"/api/v1/marketplace/partner/listings/{listing.public_id}/media",
        {"kind": "logo", "content": base64.b64encode(data).decode()},
        format="json",
    )


def _keys(s3, bucket: str) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


@pytest.mark.django_db
def test_a_logo_is_stored_in_the_bucket_and_removed_from_it(
    mkt_client, s3, s3_endpoint, bucket, tmp_path, settings, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path / "media"  # nothing may land on the filesystem
    listing = draft_listing(partner=mkt_client.partner)
    png = image_bytes(128, 128)

    response = _upload(mkt_client, listing, png)

    assert response.status_code == 201, response.content
    media = MarketplaceListingMedia.objects.get(public_id=response.json()["id"])
    key = media.file.name
    assert key and key.startswith("marketplace/") and f"/{listing.public_id}/" in key
    assert _keys(s3, bucket) == [key]
    stored = s3.get_object(Bucket=bucket, Key=key)
    assert stored["Body"].read() == png
    assert stored["ContentType"] == "image/png"
    assert not settings.MEDIA_ROOT.exists()
    # The listing's logo URL is the object in the bucket (signed), and it serves the bytes.
    detail = mkt_client.get(f"/api/v1/marketplace/partner/listings/{listing.public_id}")
    logo_url = detail.json()["logo"]["url"]
    assert logo_url.startswith(f"{s3_endpoint}/{bucket}/{key}?")
    fetched = httpx.get(logo_url)
    assert fetched.status_code == 200
    assert fetched.content == png
    assert fetched.headers["content-type"] == "image/png"

    url = f"/api/v1/marketplace/partner/listings/{listing.public_id}/media/{media.public_id}"
    with django_capture_on_commit_callbacks(execute=True):
        assert mkt_client.delete(url).status_code == 204

    assert not MarketplaceListingMedia.objects.exists()
    assert _keys(s3, bucket) == []


def test_the_settings_build_the_s3_backend_from_the_environment():
    variables = {
        "MEDIA_STORAGE_BACKEND": "storages.backends.s3.S3Storage",
        "MEDIA_S3_BUCKET": "careos-media",
        "MEDIA_S3_ENDPOINT_URL": "http://minio.internal:9000",
        "MEDIA_S3_REGION": "eu-west-1",
        "MEDIA_S3_ACCESS_KEY_ID": "key-id",
        "MEDIA_S3_SECRET_ACCESS_KEY": "secret",
        "MEDIA_S3_CUSTOM_DOMAIN": "",
    }
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json; from careos import settings; print(json.dumps(settings.STORAGES))",
        ],
        env={**os.environ, **variables},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    storages = json.loads(done.stdout.strip().splitlines()[-1])
    assert storages["default"] == {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": "careos-media",
            "endpoint_url": "http://minio.internal:9000",
            "region_name": "eu-west-1",
            "access_key": "key-id",
            "secret_key": "secret",
        },
    }
