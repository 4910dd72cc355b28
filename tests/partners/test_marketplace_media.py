"""Markdown is rendered safely; uploaded images are checked with Pillow and stored through the
storage API; anything else is a 400 with nothing stored."""

import base64
import io
import struct
import zlib

import pytest

from partners.models import MarketplaceListingMedia, MarketplaceListingRevision
from partners.services.marketplace import listings as services
from partners.services.marketplace.content import markdown_render
from tests.partners.factories import PartnerFactory
from tests.partners.marketplace_helpers import (
    ACTOR,
    draft_listing,
    image_bytes,
    published_listing,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def mkt_client(partner_api_client):
    return partner_api_client(partner=PartnerFactory(), scopes=["manage:marketplace"])


@pytest.mark.parametrize(
    ("markdown", "absent"),
    [
        ("<script>alert(1)</script>", "<script"),
        ('<img src=x onerror="alert(1)">', "<img"),
        ("[x](javascript:alert(1))", 'href="javascript'),
        ('<a href="https://e.com" onclick="steal()">x</a>', "<a "),
        ('[x](https://e.com "t\\" onclick=\\"steal()")', 'onclick="'),
        ("<iframe src=https://e.com></iframe>", "<iframe"),
        ("![pic](https://e.com/a.png)", "<img"),
    ],
)
def test_markdown_is_sanitised(markdown, absent):
    assert absent not in markdown_render(markdown)


def test_links_get_nofollow_noopener():
    html = markdown_render("[docs](https://acme.example.com/docs) and **bold**")
    assert '<a href="https://acme.example.com/docs" rel="nofollow noopener">docs</a>' in html
    assert "<strong>bold</strong>" in html


def _upload(client, listing, data: bytes, kind: str = "logo", name: str = "logo.png"):
    return client.post(
        f"/api/v1/marketplace/partner/listings/{listing.public_id}/media",
        {"kind": kind, "content": base64.b64encode(data).decode()},
        format="json",
    )


def test_logo_and_screenshot_are_stored(mkt_client, media_root, django_capture_on_commit_callbacks):
    listing = draft_listing(partner=mkt_client.partner)
    response = _upload(mkt_client, listing, image_bytes(128, 128))
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["contentType"], body["width"]) == ("logo", "image/png", 128)
    media = MarketplaceListingMedia.objects.get(public_id=body["id"])
    assert (media_root / media.file.name).exists()
    shot = _upload(mkt_client, listing, image_bytes(640, 400, "JPEG"), "screenshot", "a.jpg")
    assert shot.status_code == 201
    assert shot.json()["contentType"] == "image/jpeg"
    # A new logo replaces the old one (row and file).
    old_path = media_root / media.file.name
    with django_capture_on_commit_callbacks(execute=True):
        assert _upload(mkt_client, listing, image_bytes(64, 64)).status_code == 201
    assert MarketplaceListingMedia.objects.filter(listing=listing, kind="logo").count() == 1
    assert not old_path.exists()
    detail = mkt_client.get(f"/api/v1/marketplace/partner/listings/{listing.public_id}").json()
    assert detail["logo"]["width"] == 64
    assert len(detail["screenshots"]) == 1


def _bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG declaring a huge canvas (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width + 1) * 8)
    signature = b"\x89PNG\r\n\x1a\n"
    return signature + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("data", "kind", "code"),
    [
        (b"not an image at all", "logo", "invalid_image"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "logo", "invalid_image"),
        (image_bytes(128, 128, "GIF"), "logo", "invalid_image"),
        (image_bytes(128, 128)[:200], "logo", "invalid_image"),  # truncated
        (image_bytes(200, 100), "logo", "invalid_image"),  # not square
        (image_bytes(16, 16), "logo", "invalid_image"),  # too small
        (image_bytes(100, 100), "screenshot", "invalid_image"),
        (image_bytes(5000, 10, "PNG"), "screenshot", "image_too_large"),
        (_bomb_png(60_000, 60_000), "logo", "image_too_large"),
    ],
)
def test_bad_images_are_refused_and_nothing_is_stored(mkt_client, media_root, data, kind, code):
    listing = draft_listing(partner=mkt_client.partner)
    response = _upload(mkt_client, listing, data, kind)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert not MarketplaceListingMedia.objects.exists()
    assert not media_root.exists() or not any(media_root.rglob("*.*"))


def test_an_image_over_the_byte_limit_is_refused(mkt_client, settings):
    settings.MARKETPLACE_IMAGE_MAX_BYTES = 1000
    listing = draft_listing(partner=mkt_client.partner)
    response = _upload(mkt_client, listing, image_bytes(512, 512, "PNG") + b"\0" * 2000)
    assert response.status_code == 400
    assert response.json()["code"] == "image_too_large"


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "logo"},
        {"kind": "logo", "content": "not base64!"},
        {"kind": "icon", "content": "QQ=="},
    ],
)
def test_upload_without_a_proper_file_is_a_validation_error(mkt_client, body):
    listing = draft_listing(partner=mkt_client.partner)
    response = mkt_client.post(
        f"/api/v1/marketplace/partner/listings/{listing.public_id}/media", body, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert not MarketplaceListingMedia.objects.exists()


def test_base64_that_does_not_decode_is_invalid_image(mkt_client):
    listing = draft_listing(partner=mkt_client.partner)
    response = mkt_client.post(
        f"/api/v1/marketplace/partner/listings/{listing.public_id}/media",
        {"kind": "logo", "content": "QQ"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_image"


def test_media_of_a_published_listing_waits_for_review(
    mkt_client, api_client, media_root, django_capture_on_commit_callbacks
):
    listing = published_listing(partner=mkt_client.partner)
    assert _upload(mkt_client, listing, image_bytes(128, 128)).status_code == 201
    public_url = f"/api/v1/marketplace/listings/{listing.public_id}"
    assert api_client.get(public_url).json()["logo"] is None
    revision = MarketplaceListingRevision.objects.get(listing=listing)
    services.revision_approve(revision=revision, actor=ACTOR)
    logo = api_client.get(public_url).json()["logo"]
    assert logo["width"] == 128
    # Removing it is a change for review too.
    url = f"/api/v1/marketplace/partner/listings/{listing.public_id}/media/{logo['id']}"
    assert mkt_client.delete(url).status_code == 204
    assert api_client.get(public_url).json()["logo"] is not None
    revision = MarketplaceListingRevision.objects.get(listing=listing, status="pending")
    with django_capture_on_commit_callbacks(execute=True):
        services.revision_approve(revision=revision, actor=ACTOR)
    assert api_client.get(public_url).json()["logo"] is None
    assert not any(media_root.rglob("*.png"))


def test_draft_media_is_removed_at_once(mkt_client, media_root):
    listing = draft_listing(partner=mkt_client.partner)
    media_id = _upload(mkt_client, listing, image_bytes()).json()["id"]
    url = f"/api/v1/marketplace/partner/listings/{listing.public_id}/media/{media_id}"
    assert mkt_client.delete(url).status_code == 204
    assert not MarketplaceListingMedia.objects.exists()
    assert mkt_client.delete(url).status_code == 404


def test_bytes_io_is_accepted_by_the_service():
    from partners.services.marketplace.media import image_check

    checked = image_check(upload=io.BytesIO(image_bytes(64, 64)), size=100, kind="logo")
    assert (checked.width, checked.height, checked.content_type) == (64, 64, "image/png")
