"""Cover rendering and links without a server: sizes, refusals, and links stable within a window."""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from audiocity.graphql.response_cache import cache_key
from audiocity.services.covers import (
    CoverLimits,
    SignedLinks,
    cover_links,
    link_window,
    render,
    window_expires_in,
)
from audiocity.services.errors import ServiceError
from audiocity.storage.base import SignedURL
from audiocity.storage.local import LocalStorage

LIMITS = CoverLimits(max_bytes=1_000_000, max_pixels=2_000_000, sizes=(160, 320, 640), max_edge=1000)


def encoded(width: int, height: int, fmt: str = "PNG", mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height)).save(out, fmt)
    return out.getvalue()


def test_renditions_are_webp_of_the_announced_sizes() -> None:
    renditions = render(encoded(1200, 900, "JPEG"), LIMITS)
    assert [(r.size, r.width, r.height) for r in renditions] == [
        (None, 1000, 750),  # the full image is capped at max_edge
        (160, 160, 120),
        (320, 320, 240),
        (640, 640, 480),
    ]
    for r in renditions:
        with Image.open(io.BytesIO(r.data)) as image:
            assert (image.format, image.size) == ("WEBP", (r.width, r.height))


def test_palette_and_alpha_images_are_kept_as_images() -> None:
    [full, thumb] = render(encoded(200, 100, "PNG", mode="P"), LIMITS)
    assert (full.width, full.height, thumb.width, thumb.height) == (200, 100, 160, 80)
    [full, *_] = render(encoded(300, 300, "WEBP", mode="RGBA"), LIMITS)
    assert (full.width, full.height) == (300, 300)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"GIF89a not allowed", "UNSUPPORTED_FORMAT"),
        (encoded(10, 10, "GIF"), "UNSUPPORTED_FORMAT"),  # a real image, but not a cover format
        (encoded(2000, 1001, mode="1"), "FILE_TOO_LARGE"),  # pixels, before decoding
        (b"\x89PNG" + bytes(1_000_000), "FILE_TOO_LARGE"),  # bytes
    ],
)
def test_refusals(data: bytes, code: str) -> None:
    with pytest.raises(ServiceError) as refused:
        render(data, LIMITS)
    assert (refused.value.code, refused.value.field) == (code, "file")


def test_link_expiry_is_the_same_within_a_window() -> None:
    ttl = 3600  # windows of 1800 s: a link made at any moment of one expires at the same instant
    expiries = {int(now) + window_expires_in(ttl, now) for now in (7200.0, 7200.5, 8000.0, 8999.9)}
    assert expiries == {7200 + 2 * 1800}
    assert int(9000.0) + window_expires_in(ttl, 9000.0) == 9000 + 2 * 1800  # the next window, a later expiry
    assert all(1800 <= window_expires_in(ttl, now) <= 3600 for now in (7200.0, 8999.9))  # valid half the TTL at least


def test_links_name_every_rendition(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path, "s" * 40, "http://testserver")
    book = uuid.uuid4()
    links = cover_links(storage, book, f"audiobooks/{book}/cover/t", 640, 480, [320, 160], ttl_seconds=3600)
    assert [(link.size, link.width, link.height) for link in links] == [
        (None, 640, 480),
        (160, 160, 120),
        (320, 320, 240),
    ]
    assert [link.url.split("?")[0].rsplit("/", 1)[1] for link in links] == ["full.webp", "160.webp", "320.webp"]
    assert cover_links(storage, book, None, None, None, [], ttl_seconds=3600) == []


def test_cached_answers_are_retired_with_their_link_window() -> None:
    assert link_window(3600, 7200.0) == link_window(3600, 8999.9) != link_window(3600, 9000.0)
    same = cache_key(7, "doc", None, {}, link_window(3600, 7200.0))
    assert same == cache_key(7, "doc", None, {}, link_window(3600, 8999.9))
    assert same != cache_key(7, "doc", None, {}, link_window(3600, 9000.0))


def test_signed_links_are_reused_within_their_window(tmp_path: Path) -> None:
    class Counting(LocalStorage):
        calls = 0

        def signed_download_url(self, key: str, **kwargs: Any) -> SignedURL:
            Counting.calls += 1
            return super().signed_download_url(key, **kwargs)

    storage = Counting(tmp_path, "s" * 40, "http://testserver")
    memo = SignedLinks()
    book = uuid.uuid4()
    args = (storage, book, f"audiobooks/{book}/cover/t", 640, 480, [160])
    first = cover_links(*args, ttl_seconds=3600, signed=memo)
    again = cover_links(*args, ttl_seconds=3600, signed=memo)
    assert Counting.calls == 2  # the full image and one thumbnail, signed once
    assert [link.url for link in again] == [link.url for link in first]
