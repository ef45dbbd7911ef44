// The admins' live jobs page: the public GraphQL API only (HTTP for queries and mutations,
// graphql-transport-ws for jobUpdates). No build step, no dependencies.
"use strict";

const API = new URL("/graphql", location.href).toString();
const WS = API.replace(/^http/, "ws");
const TERMINAL = new Set(["SUCCEEDED", "FAILED", "CANCELLED"]);
const JOB_FIELDS = "id kind status stage progress message error attempts createdAt audiobook { id title }";
const DISCOVER_EVERY_MS = 3000;

const store = {
  get access() { return sessionStorage.getItem("audiocity.access"); },
  get refresh() { return sessionStorage.getItem("audiocity.refresh"); },
  save(pair) {
    sessionStorage.setItem("audiocity.access", pair.accessToken);
    sessionStorage.setItem("audiocity.refresh", pair.refreshToken);
  },
  clear() { sessionStorage.removeItem("audiocity.access"); sessionStorage.removeItem("audiocity.refresh"); },
};

async function post(query, variables, token) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(API, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  return response.json();
}

async function refreshTokens() {
  if (!store.refresh) return false;
  const body = await post(
    "mutation Refresh($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken errors { message } } }",
    { t: store.refresh },
  );
  const result = body.data && body.data.refreshToken;
  if (!result || result.errors.length || !result.accessToken) return false;
  store.save(result);
  return true;
}

// A query or mutation as the signed-in admin; refreshes the token once on UNAUTHENTICATED.
async function gql(query, variables) {
  let body = await post(query, variables, store.access);
  const unauthenticated = (b) => (b.errors || []).some((e) => e.extensions && e.extensions.code === "UNAUTHENTICATED");
  if (unauthenticated(body) && (await refreshTokens())) body = await post(query, variables, store.access);
  if (unauthenticated(body)) { signedOut(); throw new Error("signed out"); }
  if (body.errors && body.errors.length) throw new Error(body.errors[0].message);
  return body.data;
}

// A tiny graphql-transport-ws client: one socket, many subscriptions, reconnects with a fresh token.
class Subscriptions {
  constructor(onState) { this.onState = onState; this.active = new Map(); this.nextId = 1; this.socket = null; }

  subscribe(query, variables, onNext) {
    const id = String(this.nextId++);
    this.active.set(id, { query, variables, onNext });
    this.open();
    if (this.ready) this.send({ id, type: "subscribe", payload: { query, variables } });
    return id;
  }

  send(message) { this.socket.send(JSON.stringify(message)); }

  open() {
    if (this.socket) return;
    this.ready = false;
    const socket = new WebSocket(WS, "graphql-transport-ws");
    this.socket = socket;
    socket.onopen = () => this.send({ type: "connection_init", payload: { Authorization: `Bearer ${store.access}` } });
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "connection_ack") {
        this.ready = true;
        this.onState("live");
        for (const [id, sub] of this.active) this.send({ id, type: "subscribe", payload: { query: sub.query, variables: sub.variables } });
      } else if (message.type === "ping") {
        this.send({ type: "pong" });
      } else if (message.type === "next" && this.active.has(message.id)) {
        this.active.get(message.id).onNext(message.payload);
      } else if (message.type === "error" || message.type === "complete") {
        this.active.delete(message.id);
      }
    };
    socket.onclose = async (event) => {
      this.socket = null;
      this.ready = false;
      this.onState(`reconnecting (${event.code})`);
      if (event.code === 4403 || event.code === 4400) await refreshTokens();
      if (store.access && this.active.size) setTimeout(() => this.open(), 1000);
    };
  }

  close() { this.active.clear(); if (this.socket) this.socket.close(1000); this.socket = null; }
}

const rows = new Map();
let subscriptions = null;
let discoverTimer = null;

function cell(row, name) { return row.querySelector(`[data-field="${name}"]`); }

function render(job) {
  let row = rows.get(job.id);
  if (!row) {
    row = document.createElement("tr");
    row.dataset.jobId = job.id;
    row.innerHTML = `<td data-field="title"></td><td data-field="kind"></td><td class="status" data-field="status"></td>
      <td data-field="stage"></td><td><div class="bar" role="progressbar" aria-valuemin="0" aria-valuemax="100"><div></div></div>
      <span data-field="percent"></span></td><td data-field="attempts"></td><td class="message" data-field="message"></td>
      <td data-field="created"></td><td><button type="button" class="resume" hidden>Resume</button></td>`;
    row.querySelector(".resume").addEventListener("click", () => resume(row));
    rows.set(job.id, row);
    const body = document.querySelector("#jobs tbody");
    const newer = [...body.children].find((r) => r.dataset.created < job.createdAt);
    body.insertBefore(row, newer || null);
  }
  if (job.sequence !== undefined && Number(row.dataset.sequence) > job.sequence) return;
  if (job.sequence !== undefined) row.dataset.sequence = job.sequence;
  const percent = Math.round((job.progress || 0) * 100);
  row.dataset.status = job.status;
  row.dataset.created = job.createdAt;
  row.dataset.audiobookId = job.audiobook ? job.audiobook.id : "";
  cell(row, "title").textContent = job.audiobook ? job.audiobook.title : "(deleted)";
  cell(row, "kind").textContent = job.kind;
  cell(row, "status").textContent = job.status;
  cell(row, "stage").textContent = job.stage;
  cell(row, "percent").textContent = `${percent}%`;
  cell(row, "attempts").textContent = job.attempts;
  cell(row, "message").textContent = job.error || job.message || "";
  cell(row, "created").textContent = new Date(job.createdAt).toLocaleString();
  const bar = row.querySelector(".bar");
  bar.setAttribute("aria-valuenow", String(percent));
  bar.firstElementChild.style.width = `${percent}%`;
  row.querySelector(".resume").hidden = !(job.status === "FAILED" || job.status === "CANCELLED") || !job.audiobook;
}

function follow(job) {
  const row = rows.get(job.id);
  if (TERMINAL.has(job.status) || (row && row.dataset.followed)) return;
  row.dataset.followed = "1";
  subscriptions.subscribe(
    `subscription Follow($id: ID!) { jobUpdates(jobId: $id) { sequence job { ${JOB_FIELDS} } } }`,
    { id: job.id },
    (payload) => {
      if (payload.data && payload.data.jobUpdates) {
        const event = payload.data.jobUpdates;
        render({ ...event.job, sequence: event.sequence });
      }
    },
  );
}

async function discover() {
  try {
    const data = await gql(`query Recent { jobs(first: 50) { edges { node { ${JOB_FIELDS} } } } }`);
    for (const edge of data.jobs.edges) {
      if (!rows.has(edge.node.id)) render(edge.node);
      follow(edge.node);
    }
  } catch (error) {
    document.querySelector("#connection").textContent = `error: ${error.message}`;
  }
}

async function resume(row) {
  const button = row.querySelector(".resume");
  button.disabled = true;
  try {
    const data = await gql(
      `mutation Resume($id: ID!) { startTranscription(audiobookId: $id) { job { ${JOB_FIELDS} } errors { message } } }`,
      { id: row.dataset.audiobookId },
    );
    const result = data.startTranscription;
    if (result.errors.length) { cell(row, "message").textContent = result.errors[0].message; return; }
    render(result.job);
    follow(result.job);
  } finally {
    button.disabled = false;
  }
}

async function signedIn() {
  const me = await gql("query Me { me { email role } }");
  if (me.me.role !== "ADMIN") { signedOut("This page is for admins."); return; }
  document.querySelector("#who").textContent = me.me.email;
  document.querySelector("#signin").hidden = true;
  document.querySelector("#signout").hidden = false;
  document.querySelector("#jobs-view").hidden = false;
  subscriptions = new Subscriptions((state) => { document.querySelector("#connection").textContent = state; });
  await discover();
  document.querySelector("#connection").textContent = "live";
  discoverTimer = setInterval(discover, DISCOVER_EVERY_MS);
}

function signedOut(message) {
  store.clear();
  if (subscriptions) subscriptions.close();
  clearInterval(discoverTimer);
  rows.clear();
  document.querySelector("#jobs tbody").replaceChildren();
  document.querySelector("#jobs-view").hidden = true;
  document.querySelector("#signout").hidden = true;
  document.querySelector("#who").textContent = "";
  document.querySelector("#signin").hidden = false;
  document.querySelector("#signin-error").textContent = message || "";
}

document.querySelector("#signin").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const body = await post(
    "mutation Login($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken errors { message } } }",
    { e: form.get("email"), p: form.get("password") },
  );
  const result = body.data && body.data.login;
  if (!result || result.errors.length) {
    document.querySelector("#signin-error").textContent = result ? result.errors[0].message : "Sign-in failed.";
    return;
  }
  store.save(result);
  await signedIn();
});
document.querySelector("#signout").addEventListener("click", () => signedOut());

if (store.access) signedIn().catch(() => signedOut()); else signedOut();
