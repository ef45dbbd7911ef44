#!/usr/bin/env bash
# The production shape on one machine, without Docker: N `audiocity serve` and M `audiocity worker`
# processes on an external PostgreSQL and Redis, files in a bucket on gcp-storage-emulator, download
# links signed with a service-account key. Ctrl+C (or SIGTERM) stops every process it started.
#
#   DATABASE_URL=postgresql://user:pass@127.0.0.1:5432/audiocity REDIS_URL=redis://127.0.0.1:6379/0 \
#     scripts/production-shape.sh            # or: make prod-shape
#
# Settings (environment):
#   DATABASE_URL, REDIS_URL   required: the shared PostgreSQL and Redis
#   API_PROCESSES             API processes, on ports PORT, PORT+1, ...        (default 2, PORT 8000)
#   WORKER_PROCESSES          worker processes                                  (default 2)
#   WORKER_METRICS_BASE_PORT  worker i serves /metrics on this port + i          (default 9191)
#   GCS_EMULATOR_PORT         the emulator's port                               (default 9023)
#   GCS_BUCKET                the bucket, created in the emulator               (default audiocity)
#   SHAPE_DIR                 logs, emulator data, generated key and secret     (default ./data/production-shape)
#   GOOGLE_APPLICATION_CREDENTIALS  a service-account key; one is generated into SHAPE_DIR when unset
#   SECRET_KEY                shared by every process; generated once into SHAPE_DIR when unset
# Everything else (OPENAI_API_KEY, OPENAI_BASE_URL, DOWNLOAD_MODE, ...) is passed through unchanged.
set -euo pipefail

cd "$(dirname "$0")/.."
BIN=${AUDIOCITY_BIN:-.venv/bin}
: "${DATABASE_URL:?set DATABASE_URL to the shared PostgreSQL (postgresql://user:pass@host:5432/db)}"
: "${REDIS_URL:?set REDIS_URL to the shared Redis (redis://host:6379/0)}"
API_PROCESSES=${API_PROCESSES:-2}
WORKER_PROCESSES=${WORKER_PROCESSES:-2}
WORKER_METRICS_BASE_PORT=${WORKER_METRICS_BASE_PORT:-9191}
BASE_PORT=${PORT:-8000}
GCS_EMULATOR_PORT=${GCS_EMULATOR_PORT:-9023}
SHAPE_DIR=${SHAPE_DIR:-./data/production-shape}
READY_TIMEOUT=${READY_TIMEOUT:-300}
mkdir -p "$SHAPE_DIR"
SHAPE_DIR=$(cd "$SHAPE_DIR" && pwd)

export DATABASE_URL REDIS_URL
export GCS_BUCKET=${GCS_BUCKET:-audiocity}
export STORAGE_EMULATOR_HOST="http://127.0.0.1:${GCS_EMULATOR_PORT}"
export IN_PROCESS_WORKER=0
export HOST=${HOST:-127.0.0.1}

if [[ -z "${SECRET_KEY:-}" ]]; then
    if [[ ! -s "$SHAPE_DIR/secret_key" ]]; then
        (umask 077 && "$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(48))' >"$SHAPE_DIR/secret_key")
    fi
    SECRET_KEY=$(cat "$SHAPE_DIR/secret_key")
fi
export SECRET_KEY

if [[ -z "${GOOGLE_APPLICATION_CREDENTIALS:-}" ]]; then
    GOOGLE_APPLICATION_CREDENTIALS="$SHAPE_DIR/service-account.json"
    if [[ ! -s "$GOOGLE_APPLICATION_CREDENTIALS" ]]; then
        # A key made here: the emulator checks no signatures, but the links are real V4 signed URLs.
        (umask 077 && "$BIN/python" - "$GOOGLE_APPLICATION_CREDENTIALS" <<'PY'
import json, sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
info = {
    "type": "service_account",
    "project_id": "audiocity-dev",
    "private_key_id": "production-shape",
    "private_key": pem.decode(),
    "client_email": "audiocity-links@audiocity-dev.iam.gserviceaccount.com",
    "client_id": "1",
    "token_uri": "https://oauth2.googleapis.com/token",
}
with open(sys.argv[1], "w") as file:
    json.dump(info, file)
PY
        )
    fi
fi
export GOOGLE_APPLICATION_CREDENTIALS

pids=()
names=()
stopping=0

stop_all() {
    # One SIGTERM each (a second one would skip the graceful shutdown), workers first, then wait.
    [[ $stopping == 1 ]] && return
    stopping=1
    echo "stopping ${#pids[@]} processes..."
    local i
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill -TERM "${pids[$i]}" 2>/dev/null || true
    done
    local deadline=$((SECONDS + 45))
    for pid in "${pids[@]}"; do
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
        if kill -0 "$pid" 2>/dev/null; then
            echo "process $pid did not stop in time; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    echo "stopped"
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap 'stop_all' EXIT

# Each child gets its own session, so a terminal's Ctrl+C reaches only this script, which stops them once.
start() {
    local name=$1 log=$2
    shift 2
    setsid "$@" >"$log" 2>&1 &
    pids+=($!)
    names+=("$name")
    echo "started $name (pid $!), log $log"
}

wait_for() {
    local name=$1 url=$2 pid=$3
    local deadline=$((SECONDS + READY_TIMEOUT))
    until "$BIN/python" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" "$url" 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "$name exited during start-up; see its log" >&2
            exit 1
        fi
        if ((SECONDS > deadline)); then
            echo "$name not ready after ${READY_TIMEOUT}s" >&2
            exit 1
        fi
        sleep 0.5
    done
}

mkdir -p "$SHAPE_DIR/gcs"
start gcs-emulator "$SHAPE_DIR/gcs-emulator.log" "$BIN/gcp-storage-emulator" --data-dir "$SHAPE_DIR/gcs" start \
    --host=127.0.0.1 --port="$GCS_EMULATOR_PORT" --default-bucket="$GCS_BUCKET"
wait_for gcs-emulator "$STORAGE_EMULATOR_HOST/storage/v1/b/$GCS_BUCKET" "${pids[-1]}"

# Migrations take no lock: apply them once, before the replicas start.
"$BIN/audiocity" migrate

api_urls=()
for ((i = 0; i < API_PROCESSES; i++)); do
    port=$((BASE_PORT + i))
    mkdir -p "$SHAPE_DIR/api-$i"
    start "api-$i" "$SHAPE_DIR/api-$i.log" env PORT="$port" AUDIOCITY_DATA_DIR="$SHAPE_DIR/api-$i" "$BIN/audiocity" serve
    api_urls+=("http://$HOST:$port")
done
for ((i = 0; i < WORKER_PROCESSES; i++)); do
    mkdir -p "$SHAPE_DIR/worker-$i"
    # each worker on this one host gets its own metrics port
    start "worker-$i" "$SHAPE_DIR/worker-$i.log" env AUDIOCITY_DATA_DIR="$SHAPE_DIR/worker-$i" \
        WORKER_METRICS_PORT="$((WORKER_METRICS_BASE_PORT + i))" "$BIN/audiocity" worker
done
for ((i = 0; i < API_PROCESSES; i++)); do
    wait_for "api-$i" "${api_urls[$i]}/readyz" "${pids[$((i + 1))]}"
done

echo "ready: API at ${api_urls[*]} (GraphQL at /graphql), $WORKER_PROCESSES workers, bucket $GCS_BUCKET on $STORAGE_EMULATOR_HOST"
echo "logs in $SHAPE_DIR; Ctrl+C stops everything"

# Run until stopped, or until any process dies (then stop the rest and fail).
while true; do
    for i in "${!pids[@]}"; do
        if ! kill -0 "${pids[$i]}" 2>/dev/null; then
            echo "${names[$i]} (pid ${pids[$i]}) exited; stopping the rest" >&2
            exit 1
        fi
    done
    sleep 1
done
