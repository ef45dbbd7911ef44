"""The real `openai` SDK against the loopback fake: answers, fault mapping, and one request per fault."""

from __future__ import annotations

import hashlib
import math
import time
import wave
from array import array
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import openai
import pytest

from audiocity.ai.base import PermanentAIError, TransientAIError
from audiocity.ai.openai_provider import (
    OpenAISummarizer,
    OpenAITranscriber,
    make_client,
    parse_summary,
    retry_after_seconds,
)
from audiocity.config import Settings
from tests.fakes.openai_server import Endpoint, FakeOpenAI, default_transcript


def write_wav(path: Path, seconds: float = 2.0, freq: float = 440.0, rate: int = 16_000) -> Path:
    """A short mono 16-bit tone: enough for the SDK to upload and PyAV to probe."""
    samples = array("h", (int(8000 * math.sin(2 * math.pi * freq * i / rate)) for i in range(int(seconds * rate))))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path


def contents(path: Path) -> bytes:
    """Tiny test files: reading them inline is fine even in async tests."""
    return path.read_bytes()


def make_settings(fake: FakeOpenAI, transcription_model: str = "gpt-4o-transcribe") -> Settings:
    return Settings(
        openai_api_key="test-key",
        openai_base_url=fake.base_url,
        openai_transcription_model=transcription_model,
        openai_chat_model="gpt-4o-mini",
    )


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture(autouse=True)
def clean_fake(fake: FakeOpenAI) -> None:
    fake.reset()


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_wav(tmp_path_factory.mktemp("audio") / "speech.wav")


@pytest.fixture
async def client(fake: FakeOpenAI) -> AsyncIterator[openai.AsyncOpenAI]:
    client = make_client(make_settings(fake), timeout=5.0)
    yield client
    await client.close()


@pytest.fixture
def transcriber(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> OpenAITranscriber:
    return OpenAITranscriber(make_settings(fake), client)


@pytest.fixture
def summarizer(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> OpenAISummarizer:
    return OpenAISummarizer(make_settings(fake), client)


# -- transcription ---------------------------------------------------------------------------


async def test_gpt4o_transcription_returns_the_fakes_text(
    fake: FakeOpenAI, transcriber: OpenAITranscriber, audio: Path
) -> None:
    result = await transcriber.transcribe(audio)

    data = contents(audio)
    assert result.text == default_transcript(data, "speech.wav")
    assert result.audio_seconds == pytest.approx(2.0, abs=0.01)
    assert [(s.start, s.text) for s in result.segments] == [(0.0, result.text)]
    assert result.segments[0].end == pytest.approx(2.0, abs=0.01)
    assert (result.provider, result.model) == ("openai", "gpt-4o-transcribe")
    [request] = fake.requests
    assert request.path == "/v1/audio/transcriptions"
    assert (request.model, request.response_format, request.prompt) == ("gpt-4o-transcribe", "json", None)
    assert (request.file_sha1, request.filename) == (hashlib.sha1(data).hexdigest(), "speech.wav")
    assert request.fields["timestamp_granularities"] == []


async def test_a_known_duration_skips_probing(fake: FakeOpenAI, transcriber: OpenAITranscriber, tmp_path: Path) -> None:
    not_audio = tmp_path / "chunk.wav"
    not_audio.write_bytes(b"not audio at all")

    result = await transcriber.transcribe(not_audio, duration=7.5)

    assert result.audio_seconds == 7.5
    assert result.segments[0].end == 7.5


async def test_unreadable_audio_is_permanent_and_never_uploaded(
    fake: FakeOpenAI, transcriber: OpenAITranscriber, tmp_path: Path
) -> None:
    not_audio = tmp_path / "chunk.wav"
    not_audio.write_bytes(b"not audio at all")

    with pytest.raises(PermanentAIError, match=r"cannot read audio chunk\.wav"):
        await transcriber.transcribe(not_audio)
    assert fake.requests == []


async def test_chunks_go_in_order_with_the_tail_of_the_previous_text_as_prompt(
    fake: FakeOpenAI, transcriber: OpenAITranscriber, tmp_path: Path
) -> None:
    first = write_wav(tmp_path / "part1.wav", freq=300)
    second = write_wav(tmp_path / "part2.wav", freq=500)
    previous = " ".join(f"w{i}" for i in range(300)) + " " + default_transcript(contents(first), "")

    one = await transcriber.transcribe(first)
    two = await transcriber.transcribe(second, prompt=previous)

    assert [r.file_sha1 for r in fake.requests] == [
        hashlib.sha1(contents(first)).hexdigest(),
        hashlib.sha1(contents(second)).hexdigest(),
    ]
    assert one.text.startswith("chunk " + hashlib.sha1(contents(first)).hexdigest()[:8])
    assert two.text.startswith("chunk " + hashlib.sha1(contents(second)).hexdigest()[:8])
    sent = fake.requests[1].prompt
    assert sent is not None
    assert sent.split() == previous.split()[-200:]
    assert sent.endswith(one.text)


async def test_the_transcript_is_configurable(fake: FakeOpenAI, transcriber: OpenAITranscriber, audio: Path) -> None:
    fake.transcript_for = lambda data, filename: f"  custom text for {filename}  "

    result = await transcriber.transcribe(audio)

    assert result.text == "custom text for speech.wav"


async def test_whisper_uses_verbose_json_and_returns_segments(
    fake: FakeOpenAI, client: openai.AsyncOpenAI, audio: Path
) -> None:
    transcriber = OpenAITranscriber(make_settings(fake, "whisper-1"), client)

    result = await transcriber.transcribe(audio, prompt="Earlier text.")

    assert result.model == "whisper-1"
    assert result.audio_seconds == pytest.approx(2.0, abs=0.01)
    assert len(result.segments) >= 2
    assert result.segments[0].start == 0.0
    assert result.segments[-1].end == pytest.approx(2.0, abs=0.01)
    assert all(a.end <= b.start for a, b in zip(result.segments, result.segments[1:], strict=False))
    assert " ".join(s.text for s in result.segments) == result.text
    [request] = fake.requests
    assert (request.model, request.response_format, request.prompt) == (
        "whisper-1",
        "verbose_json",
        "Earlier text.",
    )
    assert request.fields["timestamp_granularities"] == ["segment"]


# -- summaries -------------------------------------------------------------------------------


async def test_summary_has_one_paragraph_three_tags_and_tokens(fake: FakeOpenAI, summarizer: OpenAISummarizer) -> None:
    result = await summarizer.summarize("Once upon a time a fox lived by the river. " * 10)

    assert result.summary and "\n" not in result.summary
    assert len(result.tags) == 3 == len(set(result.tags))
    assert all(tag == tag.lower() for tag in result.tags)
    assert result.prompt_tokens > 0 and result.completion_tokens > 0
    assert (result.provider, result.model) == ("openai", "gpt-4o-mini")
    [request] = fake.requests
    assert (request.path, request.response_format) == ("/v1/chat/completions", "json_schema")
    json_schema = request.fields["response_format"]["json_schema"]
    assert (json_schema["name"], json_schema["strict"]) == ("summary", True)


async def test_summary_reads_only_the_opening(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    summarizer = OpenAISummarizer(make_settings(fake), client, max_chars=100)

    await summarizer.summarize("word " * 1000)

    user = fake.requests[0].fields["messages"][-1]["content"]
    assert 50 < len(user) <= 100


async def test_summary_is_normalised(fake: FakeOpenAI, summarizer: OpenAISummarizer) -> None:
    fake.summary_for = lambda text: ("Line one.\n\nLine  two.", ["Mystery ", "#CRIME", "paris."])

    result = await summarizer.summarize("text")

    assert result.summary == "Line one. Line two."
    assert result.tags == ["mystery", "crime", "paris"]
    assert len(fake.requests) == 1


async def test_an_invalid_summary_is_retried_once_with_the_reason(
    fake: FakeOpenAI, summarizer: OpenAISummarizer
) -> None:
    answers = iter([("A summary.", ["Crime", "crime", " CRIME"]), ("A summary.", ["crime", "paris", "noir"])])
    fake.summary_for = lambda text: next(answers)

    result = await summarizer.summarize("text")

    assert result.tags == ["crime", "paris", "noir"]
    first, second = fake.requests
    assert "three distinct tags" in second.fields["messages"][-1]["content"]
    assert result.prompt_tokens > len(first.fields["messages"][-1]["content"].split())


async def test_a_summary_invalid_twice_is_permanent(fake: FakeOpenAI, summarizer: OpenAISummarizer) -> None:
    fake.summary_for = lambda text: ("A summary.", ["crime", "Crime", "crime"])

    with pytest.raises(PermanentAIError, match="three distinct tags"):
        await summarizer.summarize("text")
    assert len(fake.requests) == 2


async def test_a_refusal_is_permanent_at_once(fake: FakeOpenAI, summarizer: OpenAISummarizer) -> None:
    fake.fail_next("chat", "refusal")

    with pytest.raises(PermanentAIError, match="refused"):
        await summarizer.summarize("text")
    assert len(fake.requests) == 1


async def test_an_empty_transcript_is_not_sent(fake: FakeOpenAI, summarizer: OpenAISummarizer) -> None:
    with pytest.raises(PermanentAIError, match="empty"):
        await summarizer.summarize("   \n ")
    assert fake.requests == []


def test_parse_summary_rejects_what_normalising_cannot_fix() -> None:
    assert parse_summary('{"summary": " A\\nB ", "tags": ["x", "Y", "z", "w"]}') == ("A B", ["x", "y", "z"])
    for bad in [
        "not json",
        "[]",
        '{"summary": "", "tags": ["a", "b", "c"]}',
        '{"summary": "s", "tags": "a"}',
    ]:
        with pytest.raises(ValueError):
            parse_summary(bad)


# -- faults: mapping, and exactly one request each --------------------------------------------

ENDPOINTS: list[Endpoint] = ["transcriptions", "chat"]
FAULTS = [
    ("429", 7.0, TransientAIError, 7.0),
    ("429", None, TransientAIError, 1.0),  # the fake always sends Retry-After with a 429
    ("500", None, TransientAIError, None),
    ("503", 2.5, TransientAIError, 2.5),
    ("drop", None, TransientAIError, None),
    ("malformed", None, TransientAIError, None),
    ("400", None, PermanentAIError, None),
    ("401", None, PermanentAIError, None),
    ("404", None, PermanentAIError, None),
    ("quota", None, PermanentAIError, None),
]


async def call(endpoint: Endpoint, transcriber: OpenAITranscriber, summarizer: OpenAISummarizer, audio: Path) -> None:
    if endpoint == "transcriptions":
        await transcriber.transcribe(audio, duration=2.0)
    else:
        await summarizer.summarize("Once upon a time.")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(("kind", "retry_after", "error", "expected_retry_after"), FAULTS)
async def test_each_fault_maps_to_one_error_after_one_request(
    fake: FakeOpenAI,
    transcriber: OpenAITranscriber,
    summarizer: OpenAISummarizer,
    audio: Path,
    endpoint: Endpoint,
    kind: str,
    retry_after: float | None,
    error: type[Exception],
    expected_retry_after: float | None,
) -> None:
    fake.fail_next(endpoint, kind, retry_after=retry_after)

    with pytest.raises(error) as raised:
        await call(endpoint, transcriber, summarizer, audio)

    assert len(fake.requests) == 1, "the SDK must not retry by itself"
    assert fake.requests[0].fault == kind
    if isinstance(raised.value, TransientAIError):
        assert raised.value.retry_after == expected_retry_after
    # The fault is used up and the client (and its connection pool) still works.
    await call(endpoint, transcriber, summarizer, audio)
    assert len(fake.requests) == 2


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_an_answer_slower_than_the_timeout_is_transient(
    fake: FakeOpenAI, audio: Path, endpoint: Endpoint
) -> None:
    client = make_client(make_settings(fake), timeout=0.3)
    transcriber = OpenAITranscriber(make_settings(fake), client)
    summarizer = OpenAISummarizer(make_settings(fake), client)
    fake.fail_next(endpoint, "slow", delay=2.0)
    started = time.monotonic()

    with pytest.raises(TransientAIError, match="timed out"):
        await call(endpoint, transcriber, summarizer, audio)

    assert time.monotonic() - started < 1.5
    assert len(fake.requests) == 1
    await client.close()


async def test_the_client_never_retries_by_itself(fake: FakeOpenAI) -> None:
    transcriber = OpenAITranscriber(make_settings(fake))

    assert transcriber.client.max_retries == 0
    assert transcriber.client.timeout == openai.Timeout(300.0, connect=10.0)  # OPENAI_TIMEOUT_SECONDS default
    await transcriber.aclose()


async def test_the_timeout_comes_from_settings(fake: FakeOpenAI) -> None:
    settings = make_settings(fake).model_copy(update={"openai_timeout_seconds": 42.0})
    transcriber = OpenAITranscriber(settings)

    assert transcriber.client.timeout == openai.Timeout(42.0, connect=10.0)
    await transcriber.aclose()


async def test_token_billed_models_report_their_tokens(
    fake: FakeOpenAI, transcriber: OpenAITranscriber, client: openai.AsyncOpenAI, audio: Path
) -> None:
    gpt4o = await transcriber.transcribe(audio, duration=2.0)
    whisper = await OpenAITranscriber(make_settings(fake, "whisper-1"), client).transcribe(audio)

    assert gpt4o.input_tokens == 20  # the fake bills 10 audio tokens a second
    assert gpt4o.output_tokens == len(gpt4o.text.split())
    assert (whisper.input_tokens, whisper.output_tokens) == (0, 0)  # billed by the second
    assert whisper.audio_seconds == pytest.approx(2.0, abs=0.01)


async def test_latency_delays_every_answer(fake: FakeOpenAI, transcriber: OpenAITranscriber, audio: Path) -> None:
    fake.latency = 0.2
    started = time.monotonic()

    await transcriber.transcribe(audio, duration=2.0)

    assert time.monotonic() - started >= 0.2


def test_retry_after_headers() -> None:
    assert retry_after_seconds({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert retry_after_seconds({"retry-after": "3"}) == 3.0
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 < (retry_after_seconds({"retry-after": later}) or 0) <= 30
