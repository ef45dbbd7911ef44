"""`audiocity seed-demo`: a few dozen published demo audiobooks with spoken chapters, so a fresh install
shows search, chapters and previews working.

Each book gets two audio files of generated speech (espeak-ng where installed, else tones; see
`audiocity.demo_audio`) with spoken chapter headings and pauses between chapters. The files go
through the normal upload path, which queues their transcription, and the book is published,
which queues its preview clip: `audiocity serve` (or `audiocity worker`) then transcribes them,
detects the chapters and cuts the previews. Running it again adds only the books that are missing
(a book is found again by its title).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from audiocity import demo_audio, migrate
from audiocity.config import Settings
from audiocity.db import make_engine, make_sessionmaker, session_scope
from audiocity.models import Audiobook
from audiocity.runtime import database_url
from audiocity.services import audio_files, catalog
from audiocity.services.catalog import AudiobookInput
from audiocity.storage import Storage, get_storage

DEFAULT_COUNT = 30
NUMBERS = ["one", "two", "three", "four", "five", "six"]


@dataclass(frozen=True)
class Theme:
    nouns: tuple[str, ...]
    category: str
    sentences: tuple[str, ...]


THEMES = [
    Theme(("Lighthouse", "Harbour", "Tide"), "Fiction", (
        "The keeper climbed the spiral stairs and lit the great lamp.",
        "Waves broke against the rocks below the tower all night.",
        "A supply boat came from the coast once every month.",
    )),
    Theme(("River", "Canoe", "Delta"), "Travel", (
        "We paddled the brown river inland past the tall green reeds.",
        "At dusk we tied the canoe to a willow and cooked fish over a fire.",
        "Frogs sang in the dark while the current carried leaves downstream.",
    )),
    Theme(("Library", "Archive", "Reading Room"), "History", (
        "The librarian unlocked the heavy oak doors every morning.",
        "Old maps of distant countries lay open on the long tables.",
        "Children read stories about dragons and ships after school.",
    )),
    Theme(("Mountain", "Glacier", "Summit"), "Nature", (
        "The climbers left camp before sunrise and crossed the frozen glacier.",
        "Thin air made every step up the ridge slow and heavy.",
        "From the summit they saw valleys covered in clouds.",
    )),
    Theme(("Garden", "Orchard", "Greenhouse"), "Home", (
        "She planted tomatoes and beans in the warm spring soil.",
        "Bees moved between the apple blossoms in the orchard.",
        "Every evening the beds were watered with rain from the barrel.",
    )),
    Theme(("Star", "Comet", "Observatory"), "Science", (
        "The telescope turned slowly toward the faint comet.",
        "Astronomers measured the light of distant stars through the night.",
        "A new planet crossed the face of its sun every eleven days.",
    )),
    Theme(("Kitchen", "Bakery", "Market"), "Food", (
        "The baker kneaded dough before dawn and lit the wood oven.",
        "Fresh bread, cheese and olives filled the market stalls.",
        "A pot of soup simmered on the stove all afternoon.",
    )),
    Theme(("Detective", "Alibi", "Witness"), "Mystery", (
        "The detective studied the muddy footprints by the broken window.",
        "Every witness remembered the stranger in the grey coat.",
        "A missing letter explained why the alibi could not be true.",
    )),
    Theme(("Railway", "Station", "Night Train"), "Travel", (
        "The night train left the station as snow began to fall.",
        "Passengers slept while the carriages rocked across the plains.",
        "At the border the guards checked every ticket by lamplight.",
    )),
    Theme(("Forest", "Wolf", "Clearing"), "Nature", (
        "Wolves followed the deer through the quiet pine forest.",
        "Moss covered the fallen trunks in the clearing.",
        "Owls called to each other from the tall branches at night.",
    )),
]  # fmt: skip
PATTERNS = ["The {noun} Keeper", "Secrets of the {noun}", "A Year at the {noun}"]
FIRST = ["Mara", "Ansel", "June", "Tomas", "Ida", "Felix", "Rosa", "Ilan", "Nora", "Otto"]
LAST = ["Quell", "Brook", "Park", "Reed", "Vale", "Stone", "Marsh", "Lind", "Hale", "Frost"]


@dataclass(frozen=True)
class DemoBook:
    data: AudiobookInput
    files: list[list[tuple[str, list[str]]]]  # per file: (heading, sentences) per chapter


def demo_books(count: int = DEFAULT_COUNT) -> list[DemoBook]:
    """`count` distinct books (at most len(THEMES) * 3 * len(PATTERNS)), the same on every run."""
    books: list[DemoBook] = []
    n = 0
    while len(books) < count and n < len(THEMES) * 3 * len(PATTERNS):
        theme = THEMES[n % len(THEMES)]
        noun = theme.nouns[(n // len(THEMES)) % len(theme.nouns)]
        pattern = PATTERNS[(n // (len(THEMES) * len(theme.nouns))) % len(PATTERNS)]
        title = pattern.format(noun=noun)
        author = f"{FIRST[n % len(FIRST)]} {LAST[(n * 3 + 1) % len(LAST)]}"
        narrator = f"{FIRST[(n + 4) % len(FIRST)]} {LAST[(n + 7) % len(LAST)]}"
        s = theme.sentences
        chapters = [(f"Chapter {NUMBERS[i]}", [s[(i + k) % len(s)] for k in range(2)]) for i in range(4)]
        books.append(
            DemoBook(
                AudiobookInput(
                    title=title,
                    authors=[author],
                    narrators=[narrator],
                    categories=[theme.category],
                    price_cents=499 + 100 * (n % 15),
                    description=f"{title}: {s[0]} {s[1]}",
                ),
                [chapters[:2], chapters[2:]],
            )
        )
        n += 1
    return books


class _NoEvents:
    """Nobody listens to job events of a seeding run."""

    async def publish(self, channels: list[str], payload: dict[str, Any]) -> None:
        return None


async def seed(
    sessions: async_sessionmaker[AsyncSession], storage: Storage, books: Sequence[DemoBook], *, speech: bool
) -> list[str]:
    """Create, fill and publish each book that does not exist yet; returns the titles created."""
    created: list[str] = []
    with tempfile.TemporaryDirectory(prefix="audiocity-seed-") as tmp:
        for book in books:
            async with session_scope(sessions) as session:
                title = book.data.title or ""
                exists = await session.scalar(select(col(Audiobook.id)).where(col(Audiobook.title) == title).limit(1))
                if exists is not None:
                    continue
                row = await catalog.create_audiobook(session, book.data)
                for n, chapters in enumerate(book.files, start=1):
                    samples = await asyncio.to_thread(demo_audio.chapter_audio, chapters, speech)
                    path = await asyncio.to_thread(demo_audio.write_audio, Path(tmp) / f"part-{n}.mp3", samples)
                    await audio_files.store_audio_file(
                        session, storage, _NoEvents(), audiobook_id=row.id, file_name=f"part-{n}.mp3",
                        content_type="audio/mpeg", chunks=_read(path),
                    )  # fmt: skip
                await catalog.publish_audiobook(session, row.id, True)
                created.append(title)
    return created


async def _read(path: Path) -> AsyncIterator[bytes]:
    yield await asyncio.to_thread(path.read_bytes)


def seed_demo(settings: Settings, count: int = DEFAULT_COUNT, speech: bool | None = None) -> None:
    url = database_url(settings)
    migrate.upgrade(url)
    spoken = demo_audio.have_espeak() if speech is None else speech

    async def run() -> list[str]:
        engine = make_engine(url, pool_size=1)
        try:
            return await seed(make_sessionmaker(engine), get_storage(settings), demo_books(count), speech=spoken)
        finally:
            await engine.dispose()

    created = asyncio.run(run())
    voice = "espeak-ng speech" if spoken else "tones (install espeak-ng for speech)"
    print(f"created {len(created)} demo audiobooks with {voice}; {count - len(created)} existed already")
    if created:
        print("run `audiocity serve` (or `audiocity worker`) to transcribe them, find chapters and cut previews")
