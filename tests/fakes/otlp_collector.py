"""An OTLP/HTTP collector stand-in on loopback: receives protobuf trace exports and keeps the spans.

It speaks the real wire protocol (POST /v1/traces, `ExportTraceServiceRequest` in protobuf) to the
real OpenTelemetry exporter, like a collector's `otlphttp` receiver.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.threaded_server import ThreadedServer


@dataclass(frozen=True)
class Span:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_id: str
    kind: int


class FakeCollector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spans: list[Span] = []
        app = Starlette(routes=[Route("/v1/traces", self._traces, methods=["POST"])])
        self._server = ThreadedServer(app, "fake-otlp-collector")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.port}"

    def start(self) -> FakeCollector:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def spans(self) -> list[Span]:
        with self._lock:
            return list(self._spans)

    async def _traces(self, request: Request) -> Response:
        if request.headers.get("content-type") != "application/x-protobuf":
            return Response(status_code=415)
        export = ExportTraceServiceRequest()
        export.ParseFromString(await request.body())
        found: list[Span] = []
        for resource_spans in export.resource_spans:
            service = _attribute(resource_spans.resource.attributes, "service.name")
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    found.append(
                        Span(
                            service=str(service),
                            name=span.name,
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_id=span.parent_span_id.hex(),
                            kind=span.kind,
                        )
                    )
        with self._lock:
            self._spans.extend(found)
        return Response(ExportTraceServiceResponse().SerializeToString(), media_type="application/x-protobuf")


def _attribute(attributes: Any, key: str) -> Any:
    for attribute in attributes:
        if attribute.key == key:
            return attribute.value.string_value
    return None
