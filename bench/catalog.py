"""The catalog page side by side: AudioCity, PostGraphile 4 and a floor app over one database.

    .venv/bin/python -m bench catalog [--books 10000] [--rounds 3] [--seconds 5] [--workers 2]
                                      [--skip-postgraphile] [--keep DIR]

1. Starts embedded PostgreSQL and Redis in a temp dir, migrates, and seeds AudioCity's own tables
   with `--books` published books (6 or 7 audio files each: 65,000 for 10,000 books), 28 categories
   (two per book), search vectors computed by the same SQL the service uses, and one customer who
   owns a third of the first page.
2. Starts three servers, one process each, on loopback: `audiocity serve` (no worker), PostGraphile 4
   (npm-installed into ~/.cache/audiocity-bench, never into the repository) and the floor
   (bench/_floor_app.py: Starlette + asyncpg, PostgreSQL builds the whole JSON in one statement).
   A fourth, `audiocity serve --workers N`, runs for the multi-process row.
3. Checks that all of them return the same books, files and categories for each document.
4. Loads each with wrk (a Lua script posts the GraphQL body and prints latency percentiles), in
   alternating rounds at 8 and 64 connections: every server runs once per round, back to back, so
   machine noise (other engineers' tests on this shared 2-core box) hits all of them alike and the
   *ratio within a round* is the number to trust. CPU per request comes from /proc (server process
   and its children; PostgreSQL's postmaster and its backends).

Documents: `page` (50 books with totalCount, authors, narrators, tags, price, duration, cover,
categories, files), `search` (20 books matching a common word), `owned` (the page, signed in, with
`owned`; PostGraphile has no viewer here, so that row compares with the floor only), and
`page cached` (the same page again: AudioCity's public response cache answers it).
Bounded: every wrk run is `--seconds` long, the whole run takes a few minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
import httpx
from sqlalchemy.engine import make_url
from tests.e2e.server import free_port, run_server

from audiocity import migrate
from audiocity.embedded import start_postgres, start_redis
from audiocity.services.catalog import SEARCH_DOCUMENT_SQL

HERE = Path(__file__).resolve().parent
NODE_CACHE = Path(os.environ.get("AUDIOCITY_BENCH_CACHE", Path.home() / ".cache" / "audiocity-bench"))
SECRET = "bench-secret-key-0123456789-0123456789"
WORDS = [
    "river",
    "stone",
    "garden",
    "winter",
    "harbor",
    "silver",
    "lantern",
    "orchard",
    "meadow",
    "thunder",
    "castle",
    "voyage",
    "empire",
    "shadow",
    "falcon",
    "ember",
    "willow",
    "compass",
    "island",
    "crown",
    "beacon",
    "canyon",
    "forest",
    "glacier",
    "mirror",
    "ocean",
    "prairie",
    "summit",
]

PAGE = """query Page($first: Int!) { audiobooks(first: $first) { totalCount pageInfo { hasNextPage endCursor }
 edges { node { id title subtitle authors narrators tags price { amountCents currency } durationSeconds coverUrl
 categories { name slug } files { id position fileName contentType sizeBytes durationSeconds } } } } }"""
SEARCH = """query Search($first: Int!, $search: String!) { audiobooks(first: $first, search: $search) { totalCount
 edges { node { id title subtitle authors narrators tags price { amountCents currency } durationSeconds coverUrl
 categories { name slug } files { id position fileName contentType sizeBytes durationSeconds } } } } }"""
OWNED = """query Owned($first: Int!) { audiobooks(first: $first) { totalCount pageInfo { hasNextPage endCursor }
 edges { node { id title subtitle authors narrators tags price { amountCents currency } durationSeconds coverUrl
 owned categories { name slug } files { id position fileName contentType sizeBytes durationSeconds } } } } }"""
PG_NODE = """id title subtitle authors narrators tags priceCents currency durationSeconds coverUrl
 audiobookCategoriesByAudiobookId { nodes { categoryByCategoryId { name slug } } }
 audioFilesByAudiobookId(orderBy: POSITION_ASC) {
   nodes { id position fileName contentType sizeBytes durationSeconds } }"""
PG_PAGE = f"""query Page($first: Int!) {{ allAudiobooks(first: $first, orderBy: [CREATED_AT_DESC, ID_DESC],
 condition: {{published: true}}) {{ totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ {PG_NODE} }} }} }}"""
PG_SEARCH = f"""query Search($first: Int!, $search: String!) {{ searchAudiobooks(q: $search, first: $first) {{
 totalCount nodes {{ {PG_NODE} }} }} }}"""
SEARCH_WORD = "harbor"

WRK_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open(os.getenv("WRK_BODY_FILE"), "r")
wrk.body = f:read("*a")
f:close()
local auth = os.getenv("WRK_AUTH")
if auth and auth ~= "" then wrk.headers["Authorization"] = auth end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
    .. '"errors": %d}\\n', summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""

SEARCH_FUNCTION = """
CREATE SCHEMA IF NOT EXISTS bench;
CREATE OR REPLACE FUNCTION bench.search_audiobooks(q text) RETURNS SETOF public.audiobooks
LANGUAGE sql STABLE AS $$
  SELECT * FROM public.audiobooks b
  WHERE b.published AND (b.search_vector @@ websearch_to_tsquery('english', q)
                         OR b.search_vector @@ websearch_to_tsquery('simple', q))
  ORDER BY b.created_at DESC, b.id DESC
$$;
"""


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree(root: int) -> list[int]:
    """`root` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def tree_cpu(root: int) -> float:
    return sum(cpu_seconds(p) for p in tree(root))


# --- seeding -------------------------------------------------------------------------------------


async def seed(dsn: str, books: int) -> None:
    rnd = random.Random(13)
    conn = await asyncpg.connect(dsn)
    try:
        if await conn.fetchval("SELECT count(*) FROM audiobooks") >= books:
            return
        categories = [(uuid.uuid4(), f"{w.title()} Stories", f"{w}-stories") for w in WORDS]
        await conn.copy_records_to_table("categories", records=categories, columns=["id", "name", "slug"])
        base = datetime(2026, 1, 1, tzinfo=UTC)
        book_rows, file_rows, link_rows = [], [], []
        for i in range(books):
            book_id = uuid.uuid4()
            words = rnd.sample(WORDS, 4)
            created = base - timedelta(seconds=i * 37)
            book_rows.append(
                (
                    book_id,
                    f"The {words[0].title()} of {words[1].title()} {i}",
                    f"A tale of {words[2]}" if i % 3 else None,
                    " ".join(rnd.choices(WORDS, k=12)),
                    [f"{words[3].title()} Author{i % 700}"],
                    [f"Narrator{i % 300}", f"Voice{i % 50}"] if i % 4 == 0 else [f"Narrator{i % 300}"],
                    rnd.sample(WORDS, 3),
                    " ".join(rnd.choices(WORDS, k=8)),
                    "en",
                    99 + (i * 37) % 3000,
                    "USD",
                    f"https://covers.example/{book_id}.jpg",
                    0.0,
                    True,
                    "READY",
                    created,
                    created,
                )
            )
            files = 7 if i % 2 == 0 else 6
            total = 0.0
            for pos in range(files):
                seconds = 600.0 + (i * 13 + pos * 7) % 1200
                total += seconds
                file_rows.append(
                    (uuid.uuid4(), book_id, pos, f"part-{pos + 1:02d}.mp3", "audio/mpeg", 9_600_000 + pos * 1000,
                     seconds, "mp3", "mp3", 128000, f"books/{book_id}/{pos}.mp3", created)
                )  # fmt: skip
            book_rows[-1] = (*book_rows[-1][:12], total, *book_rows[-1][13:])
            for c in rnd.sample(categories, 2):
                link_rows.append((book_id, c[0]))
        await conn.copy_records_to_table(
            "audiobooks",
            records=book_rows,
            columns=["id", "title", "subtitle", "description", "authors", "narrators", "tags", "summary",
                     "language", "price_cents", "currency", "cover_url", "duration_seconds", "published",
                     "transcript_status", "created_at", "updated_at"],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "audio_files",
            records=file_rows,
            columns=["id", "audiobook_id", "position", "file_name", "content_type", "size_bytes",
                     "duration_seconds", "container", "codec", "bitrate", "storage_key", "created_at"],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "audiobook_categories", records=link_rows, columns=["audiobook_id", "category_id"]
        )
        await conn.execute(f"UPDATE audiobooks b SET {SEARCH_DOCUMENT_SQL}")
        await conn.execute(SEARCH_FUNCTION)
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def grant_customer(dsn: str, email: str) -> None:
    """The customer owns every third book of the first page."""
    conn = await asyncpg.connect(dsn)
    try:
        user_id = await conn.fetchval("SELECT id FROM users WHERE email = $1", email)
        ids = await conn.fetch("SELECT id FROM audiobooks WHERE published ORDER BY created_at DESC, id DESC LIMIT 50")
        rows = [(uuid.uuid4(), user_id, r["id"], datetime.now(UTC)) for r in ids[::3]]
        await conn.executemany(
            "INSERT INTO entitlements (id, user_id, audiobook_id, granted_at) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT DO NOTHING",
            rows,
        )
    finally:
        await conn.close()


# --- servers -------------------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    url: str
    pid: int
    bodies: dict[str, dict[str, Any]]  # document name -> GraphQL request body
    auth: dict[str, str] = field(default_factory=dict)  # document name -> Authorization header


def ensure_postgraphile() -> Path:
    binary = NODE_CACHE / "node_modules" / ".bin" / "postgraphile"
    if not binary.exists():
        NODE_CACHE.mkdir(parents=True, exist_ok=True)
        (NODE_CACHE / "package.json").write_text('{"name": "audiocity-bench", "private": true}\n')
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "postgraphile@4"], cwd=NODE_CACHE, check=True)
    return binary


def wait_http(url: str, body: dict[str, Any], process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited:\n{log.read_text()}")
        try:
            if httpx.post(url, json=body, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} not ready:\n{log.read_text()}")


@contextmanager
def process(args: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- checking and loading ------------------------------------------------------------------------


def normalise(answer: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Books (title, price, authors), their files (name, size, position) and category slugs, in page order."""
    data = answer["data"]
    if "audiobooks" in data:
        nodes = [e["node"] for e in data["audiobooks"]["edges"]]
        price = [(n["price"]["amountCents"], n["price"]["currency"]) for n in nodes]
        cats = [sorted(c["slug"] for c in n["categories"]) for n in nodes]
        files = [[(f["fileName"], int(f["sizeBytes"]), f["position"]) for f in n["files"]] for n in nodes]
        owned = [n.get("owned") for n in nodes]
        total = data["audiobooks"]["totalCount"]
    else:
        conn = data.get("allAudiobooks") or data["searchAudiobooks"]
        nodes = conn["nodes"]
        price = [(n["priceCents"], n["currency"]) for n in nodes]
        cats = [
            sorted(c["categoryByCategoryId"]["slug"] for c in n["audiobookCategoriesByAudiobookId"]["nodes"])
            for n in nodes
        ]
        files = [
            [(f["fileName"], int(f["sizeBytes"]), f["position"]) for f in n["audioFilesByAudiobookId"]["nodes"]]
            for n in nodes
        ]
        owned = [None for _ in nodes]
        total = conn["totalCount"]
    return [(total,)] + [
        (n["title"], n["authors"], n["tags"], p, c, f, o)
        for n, p, c, f, o in zip(nodes, price, cats, files, owned, strict=True)
    ]


def check_same(targets: list[Target], document: str) -> int:
    answers = {}
    for t in targets:
        if document not in t.bodies:
            continue
        headers = {"Authorization": t.auth[document]} if document in t.auth else {}
        r = httpx.post(t.url, json=t.bodies[document], headers=headers, timeout=30)
        r.raise_for_status()
        body = r.json()
        assert "errors" not in body, (t.name, body["errors"])
        answers[t.name] = (normalise(body), len(r.content))
    names = list(answers)
    ref = answers[names[0]][0]
    same = [names[0]]
    for name in names[1:]:
        mine = answers[name][0]
        if document == "owned":  # only servers that know the viewer say what is owned
            ref_cmp, mine_cmp = ref, mine
        else:
            ref_cmp = [row[:6] if len(row) > 1 else row for row in ref]
            mine_cmp = [row[:6] if len(row) > 1 else row for row in mine]
        if ref_cmp != mine_cmp and document == "search":
            # AudioCity's search ranks by weighted relevance and also matches prefixes and near-miss names;
            # the peers run plain full-text, newest first: the same load, not the same answer.
            print(f"  search: {name} answers other books than {names[0]} (total {mine[0][0]} vs {ref[0][0]}); "
                  "compared as load only")  # fmt: skip
            continue
        if ref_cmp != mine_cmp:
            raise SystemExit(f"{name} disagrees with {names[0]} on {document}")
        same.append(name)
    sizes = ", ".join(f"{n} {answers[n][1] / 1024:.0f} KB" for n in names)
    print(f"  {document}: {len(ref) - 1} books, total {ref[0][0]}, identical across {', '.join(same)} ({sizes})")
    return len(ref) - 1


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    server_ms: float  # server CPU per request
    pg_ms: float  # PostgreSQL CPU per request
    gc_ms: float | None = None  # time in the cyclic GC per request (AudioCity's own gc callbacks, /metrics)


def gc_seconds(graphql_url: str) -> float | None:
    """Sum of `audiocity_gc_seconds_total` on one AudioCity process, or None if it has none."""
    try:
        text = httpx.get(graphql_url.replace("/graphql", "/metrics"), timeout=10).text
    except httpx.HTTPError:
        return None
    values = [float(line.split()[-1]) for line in text.splitlines() if line.startswith("audiocity_gc_seconds_total")]
    return sum(values) if values else 0.0


def drain(pid: int, limit: float = 60.0) -> None:
    """Wait until the server has finished what wrk left in flight, so the next run starts on an idle
    server (otherwise a slow server is still answering the last run's 64 requests)."""
    deadline = time.monotonic() + limit
    before = tree_cpu(pid)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = tree_cpu(pid)
        if now - before < 0.05:  # under 10% of a core for half a second
            return
        before = now


def load(target: Target, document: str, conns: int, seconds: int, workdir: Path, pg_pid: int) -> Result:
    body_file = workdir / f"{target.name}-{document}.json".replace(" ", "_")
    body_file.write_text(json.dumps(target.bodies[document]))
    lua = workdir / "post.lua"
    if not lua.exists():
        lua.write_text(WRK_LUA)
    env = {**os.environ, "WRK_BODY_FILE": str(body_file), "WRK_AUTH": target.auth.get(document, "")}
    threads = min(2, conns)
    gc0 = gc_seconds(target.url) if target.name == "AudioCity" else None
    server0, pg0 = tree_cpu(target.pid), tree_cpu(pg_pid)
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--timeout", "10s", "-s", str(lua), target.url],
        env=env, capture_output=True, text=True, timeout=seconds + 60, check=True,
    )  # fmt: skip
    server1, pg1 = tree_cpu(target.pid), tree_cpu(pg_pid)
    gc1 = gc_seconds(target.url) if gc0 is not None else None
    drain(target.pid)
    line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT "))
    raw = json.loads(line[7:])
    n = max(raw["requests"], 1)
    return Result(
        rps=raw["requests"] / (raw["duration_us"] / 1e6),
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        errors=raw["errors"],
        server_ms=(server1 - server0) * 1000 / n,
        pg_ms=(pg1 - pg0) * 1000 / n,
        gc_ms=None if gc0 is None or gc1 is None else (gc1 - gc0) * 1000 / n,
    )


def _gc(rs: list[Result]) -> str:
    values = [r.gc_ms for r in rs if r.gc_ms is not None]
    return f"{statistics.median(values):.2f}" if values else "-"


def report(results: dict[tuple[str, str, int], list[Result]], rounds: int) -> None:
    print("\n## Results (median over rounds; ratios are per round, then the median of them)\n")
    print(
        "| document | server | conns | req/s | p50 ms | p99 ms | errors | server CPU ms/req | PostgreSQL CPU ms/req "
        "| GC ms/req |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (doc, name, conns), rs in results.items():
        med = statistics.median
        print(
            f"| {doc} | {name} | {conns} | {med(r.rps for r in rs):.1f} | {med(r.p50_ms for r in rs):.1f} | "
            f"{med(r.p99_ms for r in rs):.1f} | {sum(r.errors for r in rs)} | {med(r.server_ms for r in rs):.2f} | "
            f"{med(r.pg_ms for r in rs):.2f} | {_gc(rs)} |"
        )
    print("\n| document | conns | AudioCity vs | ratio per round | median |")
    print("|---|---|---|---|---|")
    for (doc, name, conns), rs in results.items():
        if name.startswith("AudioCity"):
            continue
        for mine_name in [n for (d, n, c) in results if d == doc and c == conns and n.startswith("AudioCity")]:
            mine = results[(doc, mine_name, conns)]
            ratios = [m.rps / p.rps for m, p in zip(mine, rs, strict=False) if p.rps]
            if ratios:
                per_round = " / ".join(f"{x:.2f}" for x in ratios)
                print(f"| {doc} | {conns} | {mine_name} vs {name} | {per_round} | {statistics.median(ratios):.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--books", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2, help="processes for the multi-process row (0: none)")
    parser.add_argument("--documents", default="page,search,owned,page cached")
    parser.add_argument("--skip-postgraphile", action="store_true")
    parser.add_argument("--keep", type=Path, help="reuse this data dir (seeded once) instead of a temp dir")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    documents = [d.strip() for d in args.documents.split(",") if d.strip()]

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="audiocity-bench-catalog-"))
    workdir.mkdir(parents=True, exist_ok=True)
    pg = start_postgres(workdir)
    redis = start_redis(workdir)
    try:
        migrate.upgrade(pg.url)
        url = make_url(pg.url)
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        t0 = time.monotonic()
        asyncio.run(seed(dsn, args.books))
        print(f"seeded {args.books} books in {time.monotonic() - t0:.1f} s")
        pg_pid = int((pg.pgdata / "postmaster.pid").read_text().split()[0])
        run(args, documents, workdir, pg.url, redis.url, dsn, pg_pid)
    finally:
        redis.stop()
        pg.stop()
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)


def audiocity_bodies() -> dict[str, dict[str, Any]]:
    return {
        "page": {"query": PAGE, "variables": {"first": 50}},
        "page cached": {"query": PAGE, "variables": {"first": 50}},
        "search": {"query": SEARCH, "variables": {"first": 20, "search": SEARCH_WORD}},
        "owned": {"query": OWNED, "variables": {"first": 50}},
    }


def run(args: argparse.Namespace, documents: list[str], workdir: Path, db_url: str, redis_url: str, dsn: str,
        pg_pid: int) -> None:  # fmt: skip
    uncached = {"RESPONSE_CACHE": "0"}
    with contextlib_exit() as stack:
        ac = stack.enter_context(
            run_server(workdir / "ac", db_url, redis_url, IN_PROCESS_WORKER="0", SECRET_KEY=SECRET, LOG_LEVEL="WARNING",
                       **uncached)
        )  # fmt: skip
        client = httpx.Client(timeout=30)
        email, password = "reader@example.com", "correct horse battery"
        reg = client.post(ac.graphql_url, json={
            "query": "mutation($i: RegisterInput!) { register(input: $i) { accessToken } }",
            "variables": {"i": {"email": email, "password": password}}}).json()  # fmt: skip
        token = reg["data"]["register"]["accessToken"]
        if token is None:
            reg = client.post(ac.graphql_url, json={
                "query": "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }",
                "variables": {"e": email, "p": password}}).json()  # fmt: skip
            token = reg["data"]["login"]["accessToken"]
        asyncio.run(grant_customer(dsn, email))
        bearer = f"Bearer {token}"

        targets: list[Target] = [
            Target("AudioCity", ac.graphql_url, ac.process.pid, {k: v for k, v in audiocity_bodies().items()
                                                                 if k != "page cached"}, {"owned": bearer})
        ]  # fmt: skip
        cached = stack.enter_context(
            run_server(workdir / "ac-cached", db_url, redis_url, IN_PROCESS_WORKER="0", SECRET_KEY=SECRET,
                       LOG_LEVEL="WARNING")
        )  # fmt: skip
        targets.append(Target("AudioCity cached", cached.graphql_url, cached.process.pid,
                              {"page cached": audiocity_bodies()["page cached"]}))  # fmt: skip
        if args.workers > 1:
            try:  # a loaded machine can take longer than the helper's start-up deadline
                multi = stack.enter_context(
                    run_server(workdir / "ac-multi", db_url, redis_url, IN_PROCESS_WORKER="0", SECRET_KEY=SECRET,
                               LOG_LEVEL="WARNING", WEB_CONCURRENCY=str(args.workers), **uncached)
                )  # fmt: skip
                targets.append(Target(f"AudioCity x{args.workers}", multi.graphql_url, multi.process.pid,
                                      {"page": audiocity_bodies()["page"]}))  # fmt: skip
            except RuntimeError as exc:
                print(f"no {args.workers}-process row: {str(exc)[:200]}")

        floor_port = free_port()
        floor_log = workdir / "floor.log"
        floor = stack.enter_context(
            process([sys.executable, str(HERE / "_floor_app.py"), dsn, str(floor_port), SECRET], floor_log)
        )
        floor_url = f"http://127.0.0.1:{floor_port}/graphql"
        wait_http(floor_url, audiocity_bodies()["page"], floor, floor_log)
        floor_bodies = audiocity_bodies()
        targets.append(Target("floor", floor_url, floor.pid, floor_bodies, {"owned": bearer}))

        if not args.skip_postgraphile:
            binary = ensure_postgraphile()
            pg_port = free_port()
            url = make_url(dsn)
            host = url.query["host"]
            pg_conn = f"postgres://postgres@{quote(host, safe='')}:{url.query['port']}/{url.database}"
            pg_log = workdir / "postgraphile.log"
            pgl = stack.enter_context(
                process([str(binary), "-c", pg_conn,
                         "--schema", "public,bench", "--port", str(pg_port), "--host", "127.0.0.1",
                         "--disable-query-log", "--disable-graphiql", "--no-setof-functions-contain-nulls"],
                        pg_log, env={**os.environ, "NODE_ENV": "production"})
            )  # fmt: skip
            pg_url = f"http://127.0.0.1:{pg_port}/graphql"
            wait_http(pg_url, {"query": "{ __typename }"}, pgl, pg_log)
            node_pid = next((p for p in tree(pgl.pid) if "node" in Path(f"/proc/{p}/comm").read_text()), pgl.pid)
            targets.append(
                Target(
                    "PostGraphile",
                    pg_url,
                    node_pid,
                    {
                        "page": {"query": PG_PAGE, "variables": {"first": 50}},
                        "search": {"query": PG_SEARCH, "variables": {"first": 20, "search": SEARCH_WORD}},
                    },
                )
            )

        print("checking answers")
        for doc in documents:
            check_same(targets, doc)
        # warm up every server on every document it serves
        for t in targets:
            for doc in t.bodies:
                if doc in documents:
                    load(t, doc, 8, 1, workdir, pg_pid)

        results: dict[tuple[str, str, int], list[Result]] = {}
        for rnd in range(args.rounds):
            for conns in (8, 64):
                for doc in documents:
                    for t in targets:
                        if doc not in t.bodies:
                            continue
                        r = load(t, doc, conns, args.seconds, workdir, pg_pid)
                        results.setdefault((doc, t.name, conns), []).append(r)
                        print(f"round {rnd + 1} {doc:12} {t.name:18} c={conns:<3} {r.rps:8.1f} req/s "
                              f"p50 {r.p50_ms:6.1f} p99 {r.p99_ms:6.1f} ms err {r.errors} "
                              f"cpu {r.server_ms:.2f}+{r.pg_ms:.2f} ms", flush=True)  # fmt: skip
        report(results, args.rounds)


@contextmanager
def contextlib_exit() -> Iterator[Any]:
    import contextlib

    with contextlib.ExitStack() as stack:
        yield stack


if __name__ == "__main__":
    main()
