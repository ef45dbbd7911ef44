"""`scripts/production-shape.sh` starts the layout on the given PostgreSQL and Redis, and stops it cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "production-shape.sh"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_script_starts_the_shape_and_stops_it(tmp_path: Path, database_url: str, redis_url: str) -> None:
    api_port, gcs_port = free_port(), free_port()
    shape_dir = tmp_path / "shape"
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("GOOGLE_APPLICATION_CREDENTIALS", "SECRET_KEY")},
        "DATABASE_URL": database_url,
        "REDIS_URL": f"{redis_url}{'&' if '?' in redis_url else '?'}db=8",
        "API_PROCESSES": "1",
        "WORKER_PROCESSES": "1",
        "PORT": str(api_port),
        "GCS_EMULATOR_PORT": str(gcs_port),
        "SHAPE_DIR": str(shape_dir),
        "AUDIOCITY_BIN": str(ROOT / ".venv" / "bin"),
    }
    out = tmp_path / "script.out"
    with out.open("wb") as log:
        script = subprocess.Popen(["bash", str(SCRIPT)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 400
        while "ready:" not in out.read_text():
            assert script.poll() is None, out.read_text()
            assert time.monotonic() < deadline, out.read_text()
            time.sleep(0.5)
        pids = {name: int(pid) for name, pid in re.findall(r"started (\S+) \(pid (\d+)\)", out.read_text())}
        assert sorted(pids) == ["api-0", "gcs-emulator", "worker-0"]
        assert all(alive(pid) for pid in pids.values())

        ready = httpx.get(f"http://127.0.0.1:{api_port}/readyz", timeout=10)
        assert ready.json() == {"status": "ok", "database": "ok", "redis": "ok"}
        bucket = httpx.get(f"http://127.0.0.1:{gcs_port}/storage/v1/b/audiocity", timeout=10)
        assert bucket.status_code == 200
        assert (shape_dir / "service-account.json").is_file() and (shape_dir / "secret_key").is_file()

        script.send_signal(signal.SIGTERM)
        assert script.wait(120) == 143
    finally:
        if script.poll() is None:
            script.kill()
    text = out.read_text()
    assert "stopped" in text and "killing" not in text, text
    assert not any(alive(pid) for pid in pids.values()), "every process the script started has exited"
    assert "Shutting down" in (shape_dir / "worker-0.log").read_text()
