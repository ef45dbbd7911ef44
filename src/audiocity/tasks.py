"""Every background task by name, and the one way to send one, so services never import `workers/`.

The actors that run these names are declared in `workers/`; services, sweepers and the API send
messages by name through `TaskSender.send` (the container's `tasks`) or the module-level `send`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dramatiq
import dramatiq.broker

QUEUE = "default"

TRANSCRIBE_AUDIOBOOK = "transcribe_audiobook"  # workers/actors.py
EXPIRE_PENDING_ORDERS = "expire_pending_orders"  # workers/commerce.py
EXPIRE_UPLOADS = "expire_uploads"  # workers/uploads.py
SEND_NOTICE = "send_notice"  # workers/notices.py: builds an email from the database
SEND_EMAIL = "send_email"  # workers/notices.py: delivers it, retrying transient SMTP errors
CUT_PREVIEW = "cut_preview"  # workers/previews.py: cuts a published book's sample clip
REFRESH_EMBEDDINGS = "refresh_embeddings"  # workers/embedding.py: re-embeds the texts an edit changed

MAX_DELAY_MS = 7 * 24 * 3600 * 1000 - 1  # Dramatiq refuses delays of a week or more


def send(name: str, *args: Any, delay: int | None = None, broker: dramatiq.Broker | None = None) -> None:
    """Queue one run of the task `name`, `delay` milliseconds from now (None: at once).

    With no broker given, the process's current one; a process that has none (unit tests, scripts)
    sends nothing.
    """
    if broker is None:
        if dramatiq.broker.global_broker is None:
            return
        broker = dramatiq.get_broker()
    message: dramatiq.Message[Any] = dramatiq.Message(
        queue_name=QUEUE, actor_name=name, args=args, kwargs={}, options={}
    )
    broker.enqueue(message, delay=None if delay is None else max(0, min(delay, MAX_DELAY_MS)))


@dataclass(frozen=True)
class TaskSender:
    """The container's handle on the broker: `tasks.send(TRANSCRIBE_AUDIOBOOK, job_id)`."""

    broker: dramatiq.Broker | None = None

    def send(self, name: str, *args: Any, delay: int | None = None) -> None:
        send(name, *args, delay=delay, broker=self.broker)
