"""Listing logos and screenshots: each upload is checked with Pillow (a PNG, JPEG or WebP
image by its content, not its name; within the byte, pixel and side limits; not a
decompression bomb; not truncated) and stored through Django's storage API under a name we
choose. Anything else is refused with 400 before a byte is stored."""

import io
import uuid
import warnings
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import QuerySet
from PIL import Image, UnidentifiedImageError

from careos.actors import Actor
from careos.errors import ConflictError, DomainError, NotFoundError
from partners.models import (
    ListingStatus,
    MarketplaceListing,
    MarketplaceListingMedia,
)
from partners.services.marketplace.listings import (
    audit_listing,
    locked_listing,
    pending_revision_for,
)

Kind = MarketplaceListingMedia.Kind
FORMATS = {
    "PNG": ("image/png", "png"),
    "JPEG": ("image/jpeg", "jpg"),
    "WEBP": ("image/webp", "webp"),
}
SCREENSHOT_MIN = (320, 200)


class InvalidImage(DomainError):
    code = "invalid_image"
    status = 400
    title = "The file is not an acceptable image"


class ImageTooLarge(InvalidImage):
    code = "image_too_large"


@dataclass(frozen=True)
class CheckedImage:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


def image_check(*, upload: IO[bytes], size: int, kind: str) -> CheckedImage:
    """The upload's bytes and facts when it is an acceptable ``kind`` image; raises
    ``InvalidImage`` / ``ImageTooLarge``."""
    limit = settings.MARKETPLACE_IMAGE_MAX_BYTES
    if size > limit:
        raise ImageTooLarge(f"An image may have at most {limit} bytes.")
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ImageTooLarge(f"An image may have at most {limit} bytes.")
    try:
        with warnings.catch_warnings():
            # Pillow warns (then errors) past its own pixel limit: both are a bomb here.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(_bytes_io(data))
            width, height = image.size
            _check_dimensions(kind=kind, width=width, height=height)
            image_format = image.format
            image.verify()  # structure and checksums, without decoding the pixels
            # verify() leaves the image unusable; a full decode catches truncated data.
            Image.open(_bytes_io(data)).load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLarge("The image has too many pixels (a decompression bomb?).") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise InvalidImage("The file is not a readable PNG, JPEG or WebP image.") from None
    if image_format not in FORMATS:
        raise InvalidImage("Only PNG, JPEG and WebP images are accepted.")
    content_type, extension = FORMATS[image_format]
    return CheckedImage(
        data=data, content_type=content_type, extension=extension, width=width, height=height
    )


def _bytes_io(data: bytes) -> IO[bytes]:
    return io.BytesIO(data)


def _check_dimensions(*, kind: str, width: int, height: int) -> None:
    if width * height > settings.MARKETPLACE_IMAGE_MAX_PIXELS:
        raise ImageTooLarge("The image has too many pixels (a decompression bomb?).")
    max_side = settings.MARKETPLACE_IMAGE_MAX_SIDE
    if width > max_side or height > max_side:
        raise ImageTooLarge(f"An image may be at most {max_side} pixels on each side.")
    if kind == Kind.LOGO:
        min_side = settings.MARKETPLACE_LOGO_MIN_SIDE
        if width < min_side or height < min_side:
            raise InvalidImage(f"A logo must be at least {min_side}x{min_side} pixels.")
        if width != height:
            raise InvalidImage("A logo must be square.")
    elif width < SCREENSHOT_MIN[0] or height < SCREENSHOT_MIN[1]:
        raise InvalidImage(
            f"A screenshot must be at least {SCREENSHOT_MIN[0]}x{SCREENSHOT_MIN[1]} pixels."
        )


def _visible_media(listing: MarketplaceListing) -> QuerySet[MarketplaceListingMedia]:
    return MarketplaceListingMedia.objects.filter(listing=listing, revision__isnull=True)


@transaction.atomic
def listing_media_add(
    *, listing: MarketplaceListing, kind: str, upload: IO[bytes], size: int, actor: Actor
) -> MarketplaceListingMedia:
    """Add a logo (replacing the current one) or a screenshot. On a published or suspended
    listing the image joins the pending revision and shows once staff approve it."""
    checked = image_check(upload=upload, size=size, kind=kind)
    listing = locked_listing(listing)
    if listing.status == ListingStatus.DELISTED:
        raise ConflictError("A delisted listing cannot change.", code="invalid_transition")
    revision = None
    if listing.status in (ListingStatus.PUBLISHED, ListingStatus.SUSPENDED):
        revision = pending_revision_for(listing=listing, actor=actor)
    elif listing.status == ListingStatus.IN_REVIEW:
        raise ConflictError("A listing in review cannot change.", code="invalid_transition")
    if kind == Kind.SCREENSHOT:
        count = MarketplaceListingMedia.objects.filter(
            listing=listing, kind=Kind.SCREENSHOT
        ).count()
        if count >= settings.MARKETPLACE_SCREENSHOTS_MAX:
            raise ConflictError(
                f"A listing has at most {settings.MARKETPLACE_SCREENSHOTS_MAX} screenshots.",
                code="too_many_screenshots",
            )
    elif revision is None:
        for old_logo in _visible_media(listing).filter(kind=Kind.LOGO):
            media_delete(old_logo)
    media = MarketplaceListingMedia(
        listing=listing,
        kind=kind,
        content_type=checked.content_type,
        width=checked.width,
        height=checked.height,
        size=len(checked.data),
        position=MarketplaceListingMedia.objects.filter(listing=listing).count(),
        revision=revision,
    )
    name = f"{listing.public_id}/{uuid.uuid4().hex}.{checked.extension}"
    media.file.save(name, ContentFile(checked.data), save=False)
    media.save()
    audit_listing(
        actor=actor,
        action="partner.marketplace.media_added",
        listing=listing,
        metadata={"media": media.public_id, "kind": kind},
    )
    return media


@transaction.atomic
def listing_media_remove(*, listing: MarketplaceListing, media_id: str, actor: Actor) -> None:
    """Remove an image: at once on a draft; on a published listing, with the next revision."""
    listing = locked_listing(listing)
    media = MarketplaceListingMedia.objects.filter(listing=listing, public_id=media_id).first()
    if media is None:
        raise NotFoundError("No media with this id.")
    if listing.status == ListingStatus.IN_REVIEW:
        raise ConflictError("A listing in review cannot change.", code="invalid_transition")
    if media.revision_id is None and listing.status in (
        ListingStatus.PUBLISHED,
        ListingStatus.SUSPENDED,
    ):
        revision = pending_revision_for(listing=listing, actor=actor)
        removed = set(revision.changes.get("removeMedia", []))
        revision.changes = {**revision.changes, "removeMedia": sorted(removed | {media_id})}
        revision.save(update_fields=["changes", "updated_at"])
    else:
        media_delete(media)
    audit_listing(
        actor=actor,
        action="partner.marketplace.media_removed",
        listing=listing,
        metadata={"media": media_id},
    )


def media_delete(media: MarketplaceListingMedia) -> None:
    """Delete the row now and the stored file once the transaction commits."""
    storage, name = media.file.storage, media.file.name
    media.delete()
    transaction.on_commit(lambda: storage.delete(name))
