"""Cover images: the uploaded cover and its thumbnails, each a public signed link with its size."""

from __future__ import annotations

from typing import Annotated

import strawberry

from audiocity.services.covers import CoverLink


@strawberry.type(description="One size of a cover image (WebP), served like other files: a signed, cacheable link.")
class CoverImage:
    url: str = strawberry.field(description="Where to fetch the image; public while the audiobook is.")
    width: int = strawberry.field(description="Width in pixels.")
    height: int = strawberry.field(description="Height in pixels.")

    @classmethod
    def from_link(cls, link: CoverLink) -> CoverImage:
        return cls(url=link.url, width=link.width, height=link.height)


@strawberry.type(description="An audiobook's uploaded cover: the full image and its thumbnails.")
class Cover:
    url: str = strawberry.field(description="The full-size cover (at most `COVER_MAX_EDGE` pixels a side).")
    width: int = strawberry.field(description="Width of the full-size cover in pixels.")
    height: int = strawberry.field(description="Height of the full-size cover in pixels.")
    thumbnails: list[CoverImage] = strawberry.field(description="Smaller copies, narrowest first.")

    @classmethod
    def from_links(cls, links: list[CoverLink]) -> Cover | None:
        if not links:
            return None
        full, *thumbs = links
        return cls(
            url=full.url,
            width=full.width,
            height=full.height,
            thumbnails=[CoverImage.from_link(t) for t in thumbs],
        )

    @strawberry.field(description="The narrowest image at least `minWidth` pixels wide (the full cover if none is).")
    def thumbnail(
        self,
        min_width: Annotated[int, strawberry.argument(description="The width the client will show it at.")],
    ) -> CoverImage:
        for image in self.thumbnails:
            if image.width >= min_width:
                return image
        return CoverImage(url=self.url, width=self.width, height=self.height)
