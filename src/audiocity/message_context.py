"""Carry a request's context into the jobs it queues, as one Dramatiq middleware.

Sending (API or worker): the request id and, when tracing is on, the trace context go into the
message's options. Processing (worker thread): they are bound for the message's duration, so every
log line of the job carries the request id that queued it and its spans join that request's trace.
Async actors run on the AsyncIO middleware's loop in a task that copies the worker thread's context,
so what is bound here reaches them.
"""

from __future__ import annotations

import threading
from contextlib import ExitStack
from typing import Any

import dramatiq

from audiocity import logs, tracing

REQUEST_ID = "request_id"
TRACE_CONTEXT = "trace_context"


class MessageContext(dramatiq.Middleware):
    def __init__(self) -> None:
        self._local = threading.local()

    def before_enqueue(self, broker: dramatiq.Broker, message: dramatiq.Message[Any], delay: int | None) -> None:
        request_id = logs.get("request_id")
        if request_id and REQUEST_ID not in message.options:
            message.options[REQUEST_ID] = request_id
        carrier = tracing.inject()
        if carrier:
            message.options[TRACE_CONTEXT] = carrier

    def before_process_message(self, broker: dramatiq.Broker, message: dramatiq.MessageProxy) -> None:
        stack = ExitStack()
        stack.enter_context(
            logs.bound(
                request_id=message.options.get(REQUEST_ID),
                actor=message.actor_name,
                message_id=message.message_id,
                user_id=None,
                operation=None,
                job_id=None,
                audiobook_id=None,
            )
        )
        stack.enter_context(
            tracing.consumer_span(
                f"{message.actor_name} process",
                message.options.get(TRACE_CONTEXT),
                **{"messaging.system": "dramatiq", "messaging.message.id": message.message_id},
            )
        )
        self._local.stack = stack

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: dramatiq.MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        stack: ExitStack | None = getattr(self._local, "stack", None)
        self._local.stack = None
        if stack is not None:
            if exception is not None:
                stack.__exit__(type(exception), exception, exception.__traceback__)
            else:
                stack.close()

    def after_skip_message(self, broker: dramatiq.Broker, message: dramatiq.MessageProxy) -> None:
        self.after_process_message(broker, message)
