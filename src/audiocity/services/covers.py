"""Cover images: checked and re-encoded with Pillow, stored with their thumbnails, linked publicly.

An upload is decoded only after its header says it is a PNG, JPEG or WebP within the pixel limit, so
a small file that claims enormous dimensions (a decompression bomb) is refused before any pixels are
allocated. What is stored is always our own re-encoding (WebP), never the uploaded bytes. Each upload
gets a fresh storage folder; the previous cover's objects are deleted once the new one is committed.
"""

from __future__ import annotations

import asyncio
import io
import math
import time
import uuid
import warnings
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy.ext.asyncio import AsyncSession

from audiocity.config import Settings
from audiocity.db import after_commit, on_rollback
from audiocity.models import Audiobook, utcnow
from audiocity.services import storage_keys
from audiocity.services.errors import ErrorCode, ServiceError
from audiocity.storage import LinkUnavailable, Storage

FORMATS = ("PNG", "JPEG", "WEBP")
CONTENT_TYPE = "image/webp"
QUALITY = 82


@dataclass(frozen=True)
class CoverLimits:
    max_bytes: int
    max_pixels: int
    sizes: tuple[int, ...]  # thumbnail widths
    max_edge: int

    @classmethod
    def from_settings(cls, settings: Settings) -> CoverLimits:
        sizes = sorted({int(s) for s in settings.cover_sizes.split(",") if s.strip()})
        return cls(settings.max_cover_bytes, settings.max_cover_pixels, tuple(sizes), settings.cover_max_edge)


@dataclass(frozen=True)
class Rendition:
    size: int | None  # thumbnail width, or None for the full image
    width: int
    height: int
    data: bytes


def _refuse(message: str, code: ErrorCode = ErrorCode.UNSUPPORTED_FORMAT) -> ServiceError:
    return ServiceError(code, message, "file")


def _scaled(width: int, height: int, target_width: int) -> tuple[int, int]:
    return target_width, max(1, round(height * target_width / width))


def _encode(image: Image.Image, size: tuple[int, int]) -> bytes:
    resized = image if image.size == size else image.resize(size, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    resized.save(out, "WEBP", quality=QUALITY, method=4)
    return out.getvalue()


def render(data: bytes, limits: CoverLimits) -> list[Rendition]:
    """The full image (at most `max_edge` a side) and one thumbnail per configured width it can fill.

    CPU-bound: call it off the event loop. Raises `ServiceError` for anything but a sound image.
    """
    if len(data) > limits.max_bytes:
        raise _refuse(f"Cover images are limited to {limits.max_bytes} bytes.", ErrorCode.FILE_TOO_LARGE)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            opened = Image.open(io.BytesIO(data), formats=FORMATS)  # reads the header only
            if opened.width * opened.height > limits.max_pixels:
                raise _refuse(
                    f"Cover images are limited to {limits.max_pixels} pixels; this one has "
                    f"{opened.width}x{opened.height}.",
                    ErrorCode.FILE_TOO_LARGE,
                )
            opened.draft("RGB", (limits.max_edge, limits.max_edge))  # JPEG: decode at a smaller scale
            opened.load()
            image: Image.Image = ImageOps.exif_transpose(opened)
        except ServiceError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise _refuse("The image is too large to decode.", ErrorCode.FILE_TOO_LARGE) from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
            raise _refuse("The file is not a PNG, JPEG or WebP image.") from exc
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB")
    width, height = image.size
    scale = min(1.0, limits.max_edge / max(width, height))
    full = (max(1, math.floor(width * scale)), max(1, math.floor(height * scale)))
    out = [Rendition(None, *full, _encode(image, full))]
    for size in limits.sizes:
        if size <= full[0]:
            dims = _scaled(*full, size)
            out.append(Rendition(size, *dims, _encode(image, dims)))
    return out


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _delete_all(storage: Storage, keys: list[str]) -> None:
    for key in keys:
        await storage.delete(key)


async def store_cover(
    session: AsyncSession, storage: Storage, book: Audiobook, data: bytes, limits: CoverLimits
) -> Audiobook:
    """Check and store a new cover for `book` (found by the caller); the old cover's objects go after commit,
    the new ones if the transaction fails. Nothing is written when the image is refused."""
    renditions = await asyncio.to_thread(render, data, limits)
    prefix = storage_keys.cover_prefix(book.id, uuid.uuid4().hex)
    written: list[str] = []
    try:
        for r in renditions:
            key = storage_keys.cover_image_key(prefix, r.size)
            written.append(key)
            await storage.write(key, _one(r.data), CONTENT_TYPE)
    except BaseException:
        await _delete_all(storage, written)
        raise
    on_rollback(session, lambda: _delete_all(storage, written))
    # Two uploads at once: the second waits here and then replaces (and deletes) the first's cover.
    await session.refresh(book, with_for_update=True)
    old = storage_keys.cover_keys(book.cover_key, list(book.cover_sizes))
    after_commit(session, lambda: _delete_all(storage, old))
    full = renditions[0]
    book.cover_key = prefix
    book.cover_width, book.cover_height = full.width, full.height
    book.cover_sizes = [r.size for r in renditions[1:] if r.size is not None]
    book.updated_at = utcnow()
    await session.flush()
    return book


# --- links ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CoverLink:
    url: str
    width: int
    height: int
    size: int | None  # thumbnail width; None for the full image


def _window(ttl_seconds: int) -> int:
    return max(60, ttl_seconds // 2)


def link_window(ttl_seconds: int, now: float | None = None) -> int:
    """The number of the current link window: a cached answer holding cover links is good within it."""
    return math.floor((time.time() if now is None else now) / _window(ttl_seconds))


def window_expires_in(ttl_seconds: int, now: float) -> int:
    """Seconds until the end of the next half-TTL window: every link made within one window expires at
    the same moment (same URL on local storage, so caches keep it) and stays valid for at least half the TTL."""
    window = _window(ttl_seconds)
    return int((math.floor(now / window) + 2) * window - math.floor(now))


class SignedLinks:
    """Signed cover URLs by object and expiry, kept by the process for the window they are made in:
    a catalog page signs each cover once per window, not once per request (GCS signing costs an RSA
    signature or an IAM call), and the URLs stay identical, so browsers and CDNs can cache the images."""

    def __init__(self, entries: int = 20_000) -> None:
        self.entries = entries
        self._urls: OrderedDict[tuple[str, int], str] = OrderedDict()

    def get(self, key: str, expires_at: int) -> str | None:
        return self._urls.get((key, expires_at))

    def put(self, key: str, expires_at: int, url: str) -> None:
        self._urls[(key, expires_at)] = url
        while len(self._urls) > self.entries:
            self._urls.popitem(last=False)


def cover_links(
    storage: Storage, book_id: uuid.UUID, prefix: str | None, width: int | None, height: int | None,
    sizes: list[int], *, ttl_seconds: int, now: float | None = None, signed: SignedLinks | None = None,
) -> list[CoverLink]:  # fmt: skip
    """Links to the full cover then its thumbnails (smallest first); none without an uploaded cover.

    The links carry no user: covers are public while their book is (see `cover_visible`)."""
    if not prefix or not width or not height:
        return []
    moment = time.time() if now is None else now
    expires_in = window_expires_in(ttl_seconds, moment)
    expires_at = math.floor(moment) + expires_in
    wanted: list[tuple[int | None, int, int]] = [(None, width, height)]
    wanted += [(s, *_scaled(width, height, s)) for s in sorted(sizes)]
    out = []
    for size, w, h in wanted:
        key = storage_keys.cover_image_key(prefix, size)
        url = signed.get(key, expires_at) if signed is not None else None
        if url is None:
            name = f"cover-{book_id}-{size or 'full'}.{storage_keys.COVER_EXTENSION}"
            try:
                url = storage.signed_download_url(
                    key, expires_in=expires_in, filename=name, content_type=CONTENT_TYPE
                ).url
            except LinkUnavailable:
                return []  # a cover is decoration: no link rather than a failed page
            if signed is not None:
                signed.put(key, expires_at, url)
        out.append(CoverLink(url, w, h, size))
    return out
