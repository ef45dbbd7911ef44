"""An OpenAI-compatible HTTP server on loopback, so tests and benchmarks drive the real `openai` SDK.

It answers `POST /v1/audio/transcriptions`, `POST /v1/chat/completions` and `POST /v1/embeddings`
deterministically (embeddings come from `embeddings_for`: by default a unit vector seeded by the text's
hash, so equal texts get equal vectors but meaning plays no part; tests of meaning search plug in the
local model), records
every request, and injects faults queued per endpoint (429, 5xx, slow answers, dropped connections,
malformed JSON, refusals). It runs uvicorn in a daemon thread, so it works from sync and async tests.

    with FakeOpenAI() as fake:
        client = openai.AsyncOpenAI(api_key="test", base_url=fake.base_url, max_retries=0)
        fake.fail_next("transcriptions", "429", retry_after=3)
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

import av
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from tests.fakes.threaded_server import ThreadedServer

Endpoint = Literal["transcriptions", "chat", "embeddings"]
# "slow", "drop", "malformed", "quota" (429 insufficient_quota), "refusal" (chat only),
# or an HTTP status code as a string: "400", "401", "404", "429", "500", "503", ...
FaultKind = str

TranscriptFor = Callable[[bytes, str], str]
LatencyFor = Callable[[bytes, str], float]
SummaryFor = Callable[[str], tuple[str, list[str]]]
EmbeddingsFor = Callable[[list[str], int], list[list[float]]]  # texts, dimensions -> one vector per text

_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    409: ("invalid_request_error", None),
    422: ("invalid_request_error", None),
    429: ("requests", "rate_limit_exceeded"),
}


def default_transcript(data: bytes, filename: str) -> str:
    """Names the chunk by the hash of its bytes, so tests can check which chunk went where."""
    digest = hashlib.sha1(data).hexdigest()[:8]
    return f"chunk {digest} of the fake transcript. It says hello from the fake transcriber."


def default_embeddings(texts: list[str], dimensions: int) -> list[list[float]]:
    """A unit vector per text, seeded by its SHA-1: stable, distinct, and blind to meaning."""
    vectors = []
    for text in texts:
        seed = hashlib.sha1(text.encode()).digest()
        raw = [((seed[i % 20] * 31 + i * 17) % 251) / 125.0 - 1.0 for i in range(dimensions)]
        norm = sum(x * x for x in raw) ** 0.5 or 1.0
        vectors.append([x / norm for x in raw])
    return vectors


def default_summary(text: str) -> tuple[str, list[str]]:
    words = text.split()
    return (
        f"A fake summary of {len(words)} words that begins with '{' '.join(words[:6])}'.",
        ["fiction", "adventure", "audiobook"],
    )


@dataclass
class Fault:
    kind: FaultKind
    retry_after: float | None = None
    delay: float = 1.0


@dataclass
class RecordedRequest:
    """One request as the fake saw it; `fields` holds the other form fields or the JSON body."""

    endpoint: Endpoint
    path: str
    model: str | None
    prompt: str | None
    response_format: str | None
    file_sha1: str | None
    filename: str | None
    fields: dict[str, Any]
    fault: FaultKind | None
    started: float
    finished: float | None = None


@dataclass
class _State:
    transcript_for: TranscriptFor = default_transcript
    summary_for: SummaryFor = default_summary
    embeddings_for: EmbeddingsFor = default_embeddings
    latency: float = 0.0
    latency_for: LatencyFor | None = None
    requests: list[RecordedRequest] = field(default_factory=list)
    faults: dict[str, deque[Fault]] = field(default_factory=dict)
    file_faults: dict[str, deque[Fault]] = field(default_factory=dict)
    # Per-request scripts: the n-th try of each distinct request (same file, or same chat messages)
    # gets the script's n-th fault; tries past the script are answered normally.
    scripts: dict[str, list[Fault]] = field(default_factory=dict)
    tries: dict[str, int] = field(default_factory=dict)
    throttled_until: float = 0.0
    throttle_retry_after: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class FakeOpenAI:
    """The fake server; use as a context manager, or call `start()` / `stop()`."""

    def __init__(
        self,
        *,
        transcript_for: TranscriptFor | None = None,
        summary_for: SummaryFor | None = None,
        latency: float = 0.0,
    ) -> None:
        self._state = _State(latency=latency)
        if transcript_for is not None:
            self._state.transcript_for = transcript_for
        if summary_for is not None:
            self._state.summary_for = summary_for
        self._http = ThreadedServer(build_app(self._state), "fake-openai", timeout_graceful_shutdown=1)

    # -- configuration -------------------------------------------------------------------------

    @property
    def transcript_for(self) -> TranscriptFor:
        return self._state.transcript_for

    @transcript_for.setter
    def transcript_for(self, value: TranscriptFor) -> None:
        self._state.transcript_for = value

    @property
    def summary_for(self) -> SummaryFor:
        return self._state.summary_for

    @summary_for.setter
    def summary_for(self, value: SummaryFor) -> None:
        self._state.summary_for = value

    @property
    def embeddings_for(self) -> EmbeddingsFor:
        return self._state.embeddings_for

    @embeddings_for.setter
    def embeddings_for(self, value: EmbeddingsFor) -> None:
        self._state.embeddings_for = value

    @property
    def latency(self) -> float:
        """Seconds every request waits before it is answered (for benchmarks)."""
        return self._state.latency

    @latency.setter
    def latency(self, value: float) -> None:
        self._state.latency = value

    @property
    def latency_for(self) -> LatencyFor | None:
        """Extra seconds per transcription request, from its file's bytes and name (e.g. to make
        later chunks finish first)."""
        return self._state.latency_for

    @latency_for.setter
    def latency_for(self, value: LatencyFor | None) -> None:
        self._state.latency_for = value

    @property
    def requests(self) -> list[RecordedRequest]:
        return self._state.requests

    def requests_for(self, endpoint: Endpoint) -> list[RecordedRequest]:
        return [r for r in self._state.requests if r.endpoint == endpoint]

    def fail_next(
        self,
        endpoint: Endpoint,
        kind: FaultKind,
        times: int = 1,
        retry_after: float | None = None,
        *,
        delay: float = 1.0,
    ) -> None:
        """Make the next `times` requests to `endpoint` fail; `delay` is the wait of a "slow" fault."""
        with self._state.lock:
            queue = self._state.faults.setdefault(endpoint, deque())
            for _ in range(times):
                queue.append(Fault(kind, retry_after, delay))

    def fail_file(
        self,
        file_sha1: str,
        kind: FaultKind,
        times: int = 1,
        retry_after: float | None = None,
        *,
        delay: float = 1.0,
    ) -> None:
        """Make the next `times` transcriptions of the file with this SHA-1 fail (before `fail_next` faults)."""
        with self._state.lock:
            queue = self._state.file_faults.setdefault(file_sha1, deque())
            for _ in range(times):
                queue.append(Fault(kind, retry_after, delay))

    def script_each(self, endpoint: Endpoint, kinds: list[FaultKind], retry_after: float | None = None) -> None:
        """Make every distinct request to `endpoint` fail with `kinds[0]` on its first try, `kinds[1]` on its
        second, ..., and succeed after that (a busy server, where each request has its own luck)."""
        with self._state.lock:
            self._state.scripts[endpoint] = [Fault(kind, retry_after) for kind in kinds]

    def tries_of(self, request_key: str) -> int:
        """How many times the request with this key (a file's SHA-1, or `chat:<sha1 of the messages>`) came."""
        with self._state.lock:
            return self._state.tries.get(request_key, 0)

    def throttle(self, seconds: float, retry_after: float | None = None) -> None:
        """Answer every request with 429 (and this Retry-After) for the next `seconds`: a sustained rate limit."""
        with self._state.lock:
            self._state.throttled_until = time.monotonic() + seconds
            self._state.throttle_retry_after = retry_after

    def reset(self) -> None:
        """Forget recorded requests, queued faults, latency and custom answers."""
        with self._state.lock:
            self._state.requests.clear()
            self._state.faults.clear()
            self._state.file_faults.clear()
            self._state.scripts.clear()
            self._state.tries.clear()
            self._state.throttled_until = 0.0
        self._state.latency = 0.0
        self._state.latency_for = None
        self._state.transcript_for = default_transcript
        self._state.summary_for = default_summary
        self._state.embeddings_for = default_embeddings

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if not self._http.port:
            raise RuntimeError("FakeOpenAI is not started")
        return f"http://127.0.0.1:{self._http.port}/v1"

    def start(self) -> None:
        self._http.start()

    def stop(self) -> None:
        self._http.stop()

    def __enter__(self) -> FakeOpenAI:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# -- the ASGI app ------------------------------------------------------------------------------


def build_app(state: _State) -> Callable[[Scope, Receive, Send], Any]:
    """The Starlette app, wrapped so handlers can reach the connection's transport to drop it."""

    async def transcriptions(request: Request) -> Response:
        async with request.form() as form:
            upload = form.get("file")
            has_file = isinstance(upload, UploadFile)
            data = b""
            filename = ""
            if isinstance(upload, UploadFile):
                data = await upload.read()
                filename = upload.filename or ""
            fields: dict[str, Any] = {
                key: value for key, value in form.multi_items() if not isinstance(value, UploadFile)
            }
            fields.pop("timestamp_granularities[]", None)
            fields["timestamp_granularities"] = form.getlist("timestamp_granularities[]")
        model = _str_or_none(fields.get("model"))
        response_format = _str_or_none(fields.get("response_format")) or "json"
        record, fault = _record(
            state,
            "transcriptions",
            request,
            model=model,
            prompt=_str_or_none(fields.get("prompt")),
            response_format=response_format,
            file_sha1=hashlib.sha1(data).hexdigest() if has_file else None,
            filename=filename or None,
            fields=fields,
        )
        try:
            early = await _before_answer(state, fault, request)
            if early is not None:
                return early
            if state.latency_for is not None:
                await asyncio.sleep(state.latency_for(data, filename))
            if not request.headers.get("authorization", "").startswith("Bearer "):
                return _error(401, "You didn't provide an API key.")
            if not data:
                return _error(400, "Missing required parameter: 'file'.", param="file")
            if not model:
                return _error(400, "Missing required parameter: 'model'.", param="model")
            if response_format not in ("json", "text", "verbose_json"):
                return _error(400, f"Unsupported response_format '{response_format}'.")
            if response_format == "verbose_json" and not model.startswith("whisper"):
                return _error(
                    400,
                    f"response_format 'verbose_json' is not compatible with model '{model}'. "
                    "Use 'json' or 'text' instead.",
                    param="response_format",
                )
            text = state.transcript_for(data, filename)
            if response_format == "text":
                return Response(text, media_type="text/plain")
            if response_format == "json":
                return JSONResponse({"text": text, "usage": _usage(model, data, text)})
            duration = _duration_of(data)
            return JSONResponse(
                {
                    "task": "transcribe",
                    "language": "english",
                    "duration": duration,
                    "text": text,
                    "segments": _segments(text, duration),
                    "usage": {"type": "duration", "seconds": duration},
                }
            )
        finally:
            record.finished = time.monotonic()

    async def chat_completions(request: Request) -> Response:
        body = await _json_object(request)
        if body is None:
            return _error(400, "We could not parse the JSON body of your request.")
        record, fault = _record(
            state,
            "chat",
            request,
            model=_str_or_none(body.get("model")),
            prompt=None,
            response_format=_response_format_type(body.get("response_format")),
            file_sha1=None,
            filename=None,
            fields=body,
            request_key="chat:" + hashlib.sha1(json.dumps(body.get("messages"), sort_keys=True).encode()).hexdigest(),
        )
        try:
            early = await _before_answer(state, fault, request)
            if early is not None:
                return early
            if not request.headers.get("authorization", "").startswith("Bearer "):
                return _error(401, "You didn't provide an API key.")
            return _chat_answer(state, body, refusal=fault is not None and fault.kind == "refusal")
        finally:
            record.finished = time.monotonic()

    async def embeddings(request: Request) -> Response:
        body = await _json_object(request)
        if body is None:
            return _error(400, "We could not parse the JSON body of your request.")
        record, fault = _record(
            state,
            "embeddings",
            request,
            model=_str_or_none(body.get("model")),
            prompt=None,
            response_format=_str_or_none(body.get("encoding_format")),
            file_sha1=None,
            filename=None,
            fields=body,
            request_key="embeddings:" + hashlib.sha1(json.dumps(body.get("input")).encode()).hexdigest(),
        )
        try:
            early = await _before_answer(state, fault, request)
            if early is not None:
                return early
            if not request.headers.get("authorization", "").startswith("Bearer "):
                return _error(401, "You didn't provide an API key.")
            return await _embeddings_answer(state, body)
        finally:
            record.finished = time.monotonic()

    app = Starlette(
        routes=[
            Route("/v1/audio/transcriptions", transcriptions, methods=["POST"]),
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/v1/embeddings", embeddings, methods=["POST"]),
        ]
    )

    async def outer(scope: Scope, receive: Receive, send: Send) -> None:
        # uvicorn's `send` is a bound method of the request cycle, which owns the transport.
        scope["fake.transport"] = getattr(getattr(send, "__self__", None), "transport", None)
        await app(scope, receive, send)

    return outer


def _record(
    state: _State,
    endpoint: Endpoint,
    request: Request,
    *,
    model: str | None,
    prompt: str | None,
    response_format: str | None,
    file_sha1: str | None,
    filename: str | None,
    fields: dict[str, Any],
    request_key: str | None = None,
) -> tuple[RecordedRequest, Fault | None]:
    key = request_key or file_sha1 or ""
    with state.lock:
        tried = state.tries.get(key, 0)
        state.tries[key] = tried + 1
        script = state.scripts.get(endpoint, [])
        queue = state.file_faults.get(file_sha1 or "") or state.faults.get(endpoint)
        fault: Fault | None
        if time.monotonic() < state.throttled_until:
            fault = Fault("429", state.throttle_retry_after)
        elif queue:
            fault = queue.popleft()
        else:
            fault = script[tried] if tried < len(script) else None
        record = RecordedRequest(
            endpoint=endpoint,
            path=request.url.path,
            model=model,
            prompt=prompt,
            response_format=response_format,
            file_sha1=file_sha1,
            filename=filename,
            fields=fields,
            fault=fault.kind if fault else None,
            started=time.monotonic(),
        )
        state.requests.append(record)
    return record, fault


async def _before_answer(state: _State, fault: Fault | None, request: Request) -> Response | None:
    """Apply latency and the request's fault; a response here replaces the normal answer."""
    if state.latency:
        await asyncio.sleep(state.latency)
    if fault is None or fault.kind == "refusal":
        return None
    if fault.kind == "slow":
        await _sleep_unless_disconnected(request, fault.delay)
        return None
    if fault.kind == "drop":
        await _drop(request)
        return Response(status_code=500)  # never reaches the client
    if fault.kind == "malformed":
        return Response(b'{"text": "unterminated', media_type="application/json")
    if fault.kind == "quota":
        return _error(
            429,
            "You exceeded your current quota, please check your plan and billing details.",
            code="insufficient_quota",
            type_="insufficient_quota",
        )
    status = int(fault.kind)
    headers = {}
    if status == 429 or fault.retry_after is not None:
        headers["retry-after"] = _format_seconds(fault.retry_after if fault.retry_after is not None else 1)
    return _error(status, f"Injected fault {status}.", headers=headers)


async def _sleep_unless_disconnected(request: Request, seconds: float) -> None:
    """Sleep, but stop early once the client has gone (it timed out), so shutdown stays quick."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await asyncio.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        if await request.is_disconnected():
            return


async def _drop(request: Request) -> None:
    """Abort the TCP connection after the body was read, so the client gets no response at all."""
    transport = request.scope.get("fake.transport")
    if transport is None:
        raise RuntimeError("the drop fault needs uvicorn (no transport found)")
    transport.abort()
    # Wait until uvicorn has noticed, so it neither logs an error nor tries to answer.
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _chat_answer(state: _State, body: dict[str, Any], *, refusal: bool) -> Response:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return _error(400, "Missing required parameter: 'messages'.", param="messages")
    if not body.get("model"):
        return _error(400, "Missing required parameter: 'model'.", param="model")
    user_texts = [_content_text(m) for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    prompt_text = " ".join(_content_text(m) for m in messages if isinstance(m, dict))
    summary, tags = state.summary_for(user_texts[-1] if user_texts else "")

    response_format = body.get("response_format") or {"type": "text"}
    kind = response_format.get("type")
    content: str | None
    if refusal:
        content = None
    elif kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema") or {}
        properties = schema.get("properties") or {}
        required = schema.get("required") or []
        if (response_format.get("json_schema") or {}).get("strict"):
            if schema.get("additionalProperties") is not False:
                return _error(
                    400,
                    "Invalid schema for response_format: 'additionalProperties' is required to be "
                    "supplied and to be false.",
                    param="response_format",
                )
            if set(required) != set(properties):
                return _error(
                    400,
                    "Invalid schema for response_format: 'required' must list every key in 'properties'.",
                    param="response_format",
                )
        produced = {"summary": summary, "tags": tags}
        missing = [key for key in required if key not in produced]
        if missing:
            return _error(400, f"The fake cannot produce keys {missing}.", param="response_format")
        content = json.dumps({key: produced[key] for key in properties if key in produced})
    elif kind == "json_object":
        content = json.dumps({"summary": summary, "tags": tags})
    else:
        content = summary

    prompt_tokens = len(prompt_text.split())
    completion_tokens = len(content.split()) if content else 8
    return JSONResponse(
        {
            "id": f"chatcmpl-fake-{len(state.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": content,
                        "refusal": "I'm sorry, I can't help with that." if refusal else None,
                    },
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
    )


EMBEDDING_MODELS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}


async def _embeddings_answer(state: _State, body: dict[str, Any]) -> Response:
    """The embeddings wire format: `data[i].embedding` as floats, or base64 little-endian float32."""
    model = body.get("model")
    texts = body.get("input")
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(model, str) or not model:
        return _error(400, "Missing required parameter: 'model'.", param="model")
    if model not in EMBEDDING_MODELS:
        return _error(404, f"The model `{model}` does not exist or you do not have access to it.")
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        return _error(400, "'input' must be a string or a non-empty array of strings.", param="input")
    if any(not t for t in texts):
        return _error(400, "'$.input' is invalid: strings must not be empty.", param="input")
    if len(texts) > 2048:
        return _error(400, "'$.input' is invalid: at most 2048 inputs.", param="input")
    dimensions = body.get("dimensions", EMBEDDING_MODELS[model])
    if not isinstance(dimensions, int) or not 1 <= dimensions <= EMBEDDING_MODELS[model]:
        return _error(400, f"This model does not support {dimensions} dimensions.", param="dimensions")
    if "dimensions" in body and model == "text-embedding-ada-002":
        return _error(400, "This model does not support specifying dimensions.", param="dimensions")
    encoding = body.get("encoding_format", "float")
    if encoding not in ("float", "base64"):
        return _error(400, f"Invalid encoding_format '{encoding}'.", param="encoding_format")
    vectors = await asyncio.to_thread(state.embeddings_for, texts, dimensions)
    data = []
    for index, vector in enumerate(vectors):
        embedding: Any = vector
        if encoding == "base64":
            embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    tokens = sum(max(1, len(t.split())) for t in texts)
    return JSONResponse(
        {"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
    )


async def _json_object(request: Request) -> dict[str, Any] | None:
    """The request's JSON body when it is an object, else None (the API answers 400)."""
    try:
        body = json.loads(await request.body())
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _error(
    status: int,
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    type_: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    default_type, default_code = _ERROR_TYPES.get(status, ("server_error", None))
    return JSONResponse(
        {
            "error": {
                "message": message,
                "type": type_ or default_type,
                "param": param,
                "code": code or default_code,
            }
        },
        status_code=status,
        headers=headers,
    )


def _usage(model: str, data: bytes, text: str) -> dict[str, Any]:
    """whisper-1 bills audio seconds; gpt-4o-*-transcribe bill tokens (the fake: ~10 audio tokens a second)."""
    duration = _duration_of(data)
    if model.startswith("whisper"):
        return {"type": "duration", "seconds": duration}
    audio_tokens = max(1, round(duration * 10))
    output_tokens = len(text.split())
    return {
        "type": "tokens",
        "input_tokens": audio_tokens,
        "input_token_details": {"audio_tokens": audio_tokens, "text_tokens": 0},
        "output_tokens": output_tokens,
        "total_tokens": audio_tokens + output_tokens,
    }


def _segments(text: str, duration: float) -> list[dict[str, Any]]:
    """Whisper-like segments: eight words each, spread evenly over the audio."""
    words = text.split()
    groups = [words[i : i + 8] for i in range(0, len(words), 8)] or [[]]
    step = duration / len(groups)
    return [
        {
            "id": index,
            "seek": 0,
            "start": round(index * step, 3),
            "end": round((index + 1) * step, 3),
            "text": " " + " ".join(group),
            "tokens": list(range(len(group))),
            "temperature": 0.0,
            "avg_logprob": -0.2,
            "compression_ratio": 1.2,
            "no_speech_prob": 0.01,
        }
        for index, group in enumerate(groups)
    ]


def _duration_of(data: bytes) -> float:
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if container.duration is not None:
                return round(container.duration / av.time_base, 3)
            stream = container.streams.audio[0]
            samples = sum(frame.samples for frame in container.decode(stream))
            return round(samples / (stream.rate or 1), 3)
    except (av.FFmpegError, IndexError):
        return 0.0


def _content_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _response_format_type(value: object) -> str | None:
    return str(value.get("type")) if isinstance(value, dict) else None


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _format_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
