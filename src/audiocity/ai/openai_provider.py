"""OpenAI (or any OpenAI-compatible server) for transcription and summaries.

Retries live in ONE layer, per request, in the pipeline (workers/request_retry.py): the SDK client is
built with `max_retries=0`, because its own default (2 retries of 408/409/429/5xx and connection
errors) would multiply with the pipeline's (3 SDK attempts x 3 tries = 9 uploads of a 20 MB chunk). Every SDK failure
is sorted by `to_ai_error` into TransientAIError (retry, honouring Retry-After) or PermanentAIError.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
import time
from collections.abc import Mapping
from pathlib import Path

import av
import openai
from av.error import FFmpegError
from openai import omit
from openai.types.chat import ChatCompletionMessageParam
from openai.types.shared_params import ResponseFormatJSONSchema

from audiocity.ai.base import PermanentAIError, Segment, Summary, Transcription, TransientAIError, first_section
from audiocity.config import Settings

DEFAULT_TIMEOUT_SECONDS = 120.0
PROMPT_WORDS = 200  # Whisper reads at most 224 prompt tokens; the tail is what helps continuity.
SUMMARY_INPUT_CHARS = 12_000

SUMMARY_SCHEMA: dict[str, object] = {
    "type": "object",
    "properties": {
        "summary": {
            "type": "string",
            "description": "One paragraph of 3 to 5 sentences, without line breaks.",
        },
        "tags": {
            "type": "array",
            "items": {"type": "string"},
            "minItems": 3,
            "maxItems": 3,
            "description": "Exactly three distinct lowercase tags (genre, topic or mood), 1-2 words each.",
        },
    },
    "required": ["summary", "tags"],
    "additionalProperties": False,
}
SUMMARY_RESPONSE_FORMAT: ResponseFormatJSONSchema = {
    "type": "json_schema",
    "json_schema": {"name": "summary", "strict": True, "schema": SUMMARY_SCHEMA},
}
SUMMARY_INSTRUCTIONS = (
    "You write catalogue copy for an audiobook store. You are given the opening of an audiobook's "
    "transcript. Reply with a one-paragraph summary of the book (3 to 5 sentences, no line breaks, "
    "no spoilers beyond the opening) and exactly three distinct lowercase tags describing its genre, "
    "topic or mood."
)
_TAG_EDGES = "#.,;:!?\"'`*-_ "


class SummaryFormatError(ValueError):
    """The model's answer does not meet the contract even after normalising."""


def make_client(settings: Settings, *, timeout: float | None = None) -> openai.AsyncOpenAI:
    """An async client that never retries by itself (see the module docstring)."""
    seconds = timeout or settings.openai_timeout_seconds or DEFAULT_TIMEOUT_SECONDS
    return openai.AsyncOpenAI(
        api_key=settings.openai_api_key,
        base_url=settings.openai_base_url,
        max_retries=0,
        timeout=openai.Timeout(float(seconds), connect=min(10.0, float(seconds))),
    )


def to_ai_error(err: Exception) -> TransientAIError | PermanentAIError:
    """The one place that decides whether an SDK failure is worth retrying."""
    if isinstance(err, openai.APITimeoutError):
        return TransientAIError("OpenAI request timed out")
    if isinstance(err, openai.APIConnectionError):
        cause = f": {err.__cause__!r}" if err.__cause__ else ""
        return TransientAIError(f"could not reach OpenAI{cause}")
    if isinstance(err, openai.APIStatusError):
        message = f"OpenAI request failed (HTTP {err.status_code}): {_api_message(err)}"
        if err.code == "insufficient_quota":  # a 429 that no amount of waiting fixes
            return PermanentAIError(f"{message} (quota exhausted: check the account's billing)")
        if err.status_code in (408, 409, 429) or err.status_code >= 500:
            return TransientAIError(
                message, retry_after_seconds(err.response.headers), rate_limited=err.status_code == 429
            )
        return PermanentAIError(message)
    if isinstance(err, (json.JSONDecodeError, openai.APIResponseValidationError)):
        # A 200 whose body is not JSON: a truncated or mangled answer, so another try may work.
        return TransientAIError(f"OpenAI sent a malformed response: {err}")
    if isinstance(err, openai.ContentFilterFinishReasonError):
        return PermanentAIError("OpenAI refused the content (content filter)")
    return PermanentAIError(f"OpenAI client error: {err}")


def _api_message(err: openai.APIStatusError) -> str:
    """The server's own words (`error.message`) rather than the SDK's "Error code: 503 - {...}"."""
    body = err.body
    if isinstance(body, dict):
        message = body.get("message")
        if isinstance(message, str) and message.strip():
            return message.strip()
    return err.message


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asks us to wait: `retry-after-ms`, then `retry-after` (seconds or a date)."""
    milliseconds = _number(headers.get("retry-after-ms"))
    if milliseconds is not None:
        return milliseconds / 1000
    value = headers.get("retry-after")
    seconds = _number(value)
    if seconds is not None or not value:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def prompt_tail(text: str | None, words: int = PROMPT_WORDS) -> str | None:
    """The last `words` words of the previous chunk's text, which is what keeps spelling consistent."""
    if not text:
        return None
    return " ".join(text.split()[-words:]) or None


def probe_duration(path: Path) -> float:
    """Seconds of audio in `path`: from the container header or, failing that, by decoding."""
    try:
        with av.open(str(path)) as container:
            if container.duration is not None:
                return float(container.duration / av.time_base)
            stream = container.streams.audio[0]
            samples = sum(frame.samples for frame in container.decode(stream))
            return samples / stream.rate if stream.rate else 0.0
    except (FFmpegError, IndexError) as err:
        raise PermanentAIError(f"cannot read audio {path.name}: {err}") from err


class OpenAITranscriber:
    """gpt-4o-* models return text only; whisper-1 (verbose_json) also returns timed segments."""

    name: str = "openai"
    max_concurrency: int | None = None  # TRANSCRIPTION_CONCURRENCY (and the account's rate limit) decide

    def __init__(self, settings: Settings, client: openai.AsyncOpenAI | None = None) -> None:
        self.model = settings.openai_transcription_model
        self.client = client or make_client(settings)
        self._owns_client = client is None

    async def aclose(self) -> None:
        if self._owns_client:
            await self.client.close()

    async def transcribe(
        self, audio_path: Path, *, prompt: str | None = None, duration: float | None = None
    ) -> Transcription:
        """Transcribe one chunk; segment times are relative to the chunk's start.

        `duration` (seconds) saves probing the file when the caller cut the chunk and knows it.
        """
        tail = prompt_tail(prompt)
        if self.model.startswith("whisper"):
            return await self._transcribe_verbose(audio_path, tail, duration)
        if duration is None:
            duration = await asyncio.to_thread(probe_duration, audio_path)
        try:
            result = await self.client.audio.transcriptions.create(
                model=self.model,
                file=audio_path,
                prompt=tail or omit,
                response_format="json",
            )
        except (openai.OpenAIError, json.JSONDecodeError) as err:
            raise to_ai_error(err) from err
        text = _text_of(result).strip()
        segments = [Segment(start=0.0, end=duration, text=text)] if text else []
        input_tokens, output_tokens = _token_usage(result)
        return Transcription(
            text=text,
            segments=segments,
            audio_seconds=duration,
            provider=self.name,
            model=self.model,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
        )

    async def _transcribe_verbose(self, audio_path: Path, tail: str | None, duration: float | None) -> Transcription:
        try:
            result = await self.client.audio.transcriptions.create(
                model=self.model,
                file=audio_path,
                prompt=tail or omit,
                response_format="verbose_json",
                timestamp_granularities=["segment"],
            )
        except (openai.OpenAIError, json.JSONDecodeError) as err:
            raise to_ai_error(err) from err
        text = _text_of(result).strip()
        segments = [
            Segment(start=float(s.start), end=float(s.end), text=s.text.strip())
            for s in (getattr(result, "segments", None) or [])
            if s.text.strip()
        ]
        if duration is None:
            duration = _number(getattr(result, "duration", None))
        if duration is None:
            duration = segments[-1].end if segments else 0.0
        if text and not segments:
            segments = [Segment(start=0.0, end=duration, text=text)]
        return Transcription(text=text, segments=segments, audio_seconds=duration, provider=self.name, model=self.model)


class OpenAISummarizer:
    """A chat completion with a strict JSON schema over the opening of the transcript.

    Schema-valid answers can still break the contract (two tags that are equal once lowercased), so
    an answer that does not validate after normalising is sent back once with the reason; a second
    failure is a PermanentAIError. Refusals are permanent at once. Tokens of both calls are counted.
    """

    name: str = "openai"

    def __init__(
        self,
        settings: Settings,
        client: openai.AsyncOpenAI | None = None,
        *,
        max_chars: int | None = None,
    ) -> None:
        self.model = settings.openai_chat_model
        self.client = client or make_client(settings)
        self.max_chars = max_chars or SUMMARY_INPUT_CHARS
        self._owns_client = client is None

    async def aclose(self) -> None:
        if self._owns_client:
            await self.client.close()

    async def summarize(self, text: str) -> Summary:
        excerpt = first_section(text, self.max_chars)
        if not excerpt:
            raise PermanentAIError("nothing to summarise: the transcript is empty")
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": SUMMARY_INSTRUCTIONS},
            {"role": "user", "content": excerpt},
        ]
        prompt_tokens = completion_tokens = 0
        problem = ""
        for attempt in range(2):
            try:
                completion = await self.client.chat.completions.create(
                    model=self.model, messages=messages, response_format=SUMMARY_RESPONSE_FORMAT
                )
            except (openai.OpenAIError, json.JSONDecodeError) as err:
                raise to_ai_error(err) from err
            if completion.usage is not None:
                prompt_tokens += completion.usage.prompt_tokens
                completion_tokens += completion.usage.completion_tokens
            choice = completion.choices[0] if completion.choices else None
            if choice is not None and (choice.message.refusal or choice.finish_reason == "content_filter"):
                reason = choice.message.refusal or "content filter"
                raise PermanentAIError(f"OpenAI refused to summarise: {reason}")
            content = (choice.message.content if choice else None) or ""
            try:
                summary, tags = parse_summary(content)
            except SummaryFormatError as err:
                problem = str(err)
                messages = [
                    *messages,
                    {"role": "assistant", "content": content},
                    {
                        "role": "user",
                        "content": f"That answer was invalid: {problem}. Answer again with one "
                        "paragraph and exactly three distinct lowercase tags.",
                    },
                ]
                continue
            return Summary(
                summary=summary,
                tags=tags,
                provider=self.name,
                model=self.model,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                requests=attempt + 1,
            )
        raise PermanentAIError(f"OpenAI summary still invalid after one retry: {problem}")


def parse_summary(content: str) -> tuple[str, list[str]]:
    """One paragraph and three distinct normalised tags, or SummaryFormatError saying what is wrong."""
    try:
        data = json.loads(content)
    except ValueError as err:
        raise SummaryFormatError(f"the answer is not JSON ({err})") from err
    if not isinstance(data, dict):
        raise SummaryFormatError("the answer is not a JSON object")
    summary = data.get("summary")
    tags = data.get("tags")
    if not isinstance(summary, str) or not summary.strip():
        raise SummaryFormatError("the summary is missing or empty")
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise SummaryFormatError("tags must be a list of strings")
    distinct = list(dict.fromkeys(tag for tag in map(normalise_tag, tags) if tag))
    if len(distinct) < 3:
        raise SummaryFormatError(f"expected three distinct tags, got {distinct}")
    return " ".join(summary.split()), distinct[:3]


def normalise_tag(tag: str) -> str:
    """Lowercase, single spaces, no hashes, quotes or trailing punctuation."""
    return " ".join(tag.lower().split()).strip(_TAG_EDGES)


def _text_of(result: object) -> str:
    """The `text` of a transcription; an answer of another shape is a malformed (transient) one."""
    text = getattr(result, "text", None)
    if isinstance(result, str):
        text = result
    if not isinstance(text, str):
        raise TransientAIError(f"OpenAI sent an unexpected transcription response: {result!r:.200}")
    return text


def _token_usage(result: object) -> tuple[int, int]:
    """Input and output tokens of a token-billed transcription (gpt-4o-*-transcribe); (0, 0) otherwise."""
    usage = getattr(result, "usage", None)
    if getattr(usage, "type", None) != "tokens":
        return 0, 0
    return int(getattr(usage, "input_tokens", 0) or 0), int(getattr(usage, "output_tokens", 0) or 0)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None
