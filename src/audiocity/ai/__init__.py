"""AI backends, chosen once from settings: OpenAI when OPENAI_API_KEY is set, local models otherwise."""

from __future__ import annotations

from audiocity.ai.base import Embedder, Summarizer, Transcriber
from audiocity.config import Settings


def get_transcriber(settings: Settings) -> Transcriber:
    if settings.openai_api_key:
        from audiocity.ai.openai_provider import OpenAITranscriber

        return OpenAITranscriber(settings)
    from audiocity.ai.local import LocalWhisperTranscriber
    from audiocity.extras import require

    require("local-whisper")
    return LocalWhisperTranscriber(cpu_threads=settings.local_whisper_threads)


def get_summarizer(settings: Settings) -> Summarizer:
    """Both backends read the same opening section (SUMMARY_SECTION_CHARS) of the transcript."""
    if settings.openai_api_key:
        from audiocity.ai.openai_provider import OpenAISummarizer

        return OpenAISummarizer(settings, max_chars=settings.summary_section_chars)
    from audiocity.ai.local import LocalSummarizer

    return LocalSummarizer(max_chars=settings.summary_section_chars, max_tag_chars=settings.summary_section_chars)


def get_embedder(settings: Settings, *, query: bool = False) -> Embedder:
    """OpenAI embeddings when OPENAI_API_KEY is set, else all-MiniLM-L6-v2 from the `local-embeddings` extra.

    `query` makes a client for search requests, which wait for the answer (a shorter timeout).
    """
    if settings.openai_api_key:
        from audiocity.ai.openai_embeddings import OpenAIEmbedder

        return OpenAIEmbedder(settings, query=query)
    from audiocity.ai.local_embeddings import LocalEmbedder
    from audiocity.extras import require

    require("local-embeddings")
    return LocalEmbedder()
