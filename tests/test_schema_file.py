"""The committed SDL is the contract integrators read: it must match the code."""

from __future__ import annotations

from pathlib import Path

from audiocity.graphql.schema import build_schema

ROOT = Path(__file__).resolve().parents[1]


def test_schema_graphql_matches_the_code() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == build_schema().as_str() + "\n", "run `make schema` and commit schema.graphql"


def test_contract_names_are_present() -> None:
    sdl = build_schema().as_str()
    for name in (
        "me:", "audiobooks(", "audiobook(", "categories:", "cart:", "orders(", "order(", "library(",
        "jobs(", "job(", "node(", "register(", "login(", "refreshToken(", "logout(", "createAudiobook(",
        "updateAudiobook(", "deleteAudiobook(", "publishAudiobook(", "setUserRole(", "uploadAudioFile(",
        "reorderAudioFiles(", "deleteAudioFile(", "startTranscription(", "addToCart(", "removeFromCart(",
        "clearCart:", "checkout(", "jobUpdates(", "orderUpdates(",
    ):  # fmt: skip
        assert name in sdl, name
