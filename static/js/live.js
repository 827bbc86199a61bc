// The live board's socket (the contract is the live-board protocol, issue 3): connect, reconnect
// with back-off, keep `rev` in step with the server, apply the fragments it sends, and carry this
// tab's own operations in a queue that survives a lost connection and a page reload.
//
// Every change that arrives is server-rendered HTML swapped in through one function, `swapIn`,
// which never throws away what someone is typing (open edit forms move into the new content),
// wires the new content for htmx, and keeps #board[data-rev] current. Other modules talk to this
// one through events on `document`, so none of them needs to import it:
//   blueprint:op       {op, payload}    → an operation to send (dragdrop.js)
//   blueprint:drag     {active}         → hold every change while a card or column is pressed or dragged
//   blueprint:editing  {editing}        → what this tab edits, for presence (presence.js)
//   blueprint:presence {members, you}  ← who is on the board (presence.js draws it)
//   blueprint:swapped  {element}        ← new content is in the page
//   blueprint:redrawn  {form, actor}    ← a frame redrew what an open form edits (conflicts.js)

import { announce } from "./announce.js";
import "./presence.js";
import "./conflicts.js";

const htmx = window.htmx;
const page = document.querySelector(".board-page");

// Timings, in ms; the page may set shorter ones (data-live-timings, for the tests)
const TIMINGS = { ping: 25_000, pongWait: 10_000, retryFirst: 500, retryMax: 10_000, formRetry: 3_000 };
try {
  Object.assign(TIMINGS, JSON.parse((page && page.dataset.liveTimings) || "{}"));
} catch {
  // the defaults
}
// An op the server failed on (status 500) is sent again this many times before it is given up.
const SERVER_RETRIES = 3;
const ACTIVITY_KEEP = 100;
const DELETED_NOTICE = "deleted this offer. Saving will not bring it back; Cancel to close.";
const PENDING_NOTE = "Offline — will be saved when the connection is back";

// --- State ---------------------------------------------------------------------------------------

let socket = null;
let connected = false; // welcomed by the server: frames flow both ways
let everConnected = false;
let stopped = false; // the server said this tab may not connect (signed out, not a member)
let signedOut = false; // … because the person is signed out (4401)
let attempts = 0;
let retryTimer = 0;
let pingTimer = 0;
let pongTimer = 0;

let rev = 0;
let syncing = false; // a `sync` is on its way: op frames wait in `waiting` until it is answered
let needsReset = false; // a refusal asked for the whole board; asked again after a reconnect
let syncRetryTimer = 0;
let syncFailures = 0;
let lintRev = 0; // the rev of the lint the page shows (a `lint` frame older than it is dropped)
let waiting = [];
let dragging = false;
let held = []; // frames that arrived during a drag, applied in order on drop

let you = null;
let editing = null;
// per person too: a tab signed in again as someone else must not send the first one's edits
const queueKey = page ? `blueprint:ops:${page.dataset.blueprint}:${page.dataset.user}` : "";
let queue = loadQueue();
const inFlight = new Set(); // board requests htmx has on the wire
const pendingForms = new Set(); // board forms that could not reach the server
let formRetryTimer = 0;
const serverFailures = new Map(); // client id → times the server failed on it

// --- The connection ------------------------------------------------------------------------------

function connect() {
  if (stopped || socket) return;
  clearTimeout(retryTimer);
  retryTimer = 0;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${scheme}//${location.host}${page.dataset.wsUrl}`);
  socket = ws;
  showStatus();
  ws.addEventListener("message", (event) => {
    if (ws !== socket) return;
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    if (frame && typeof frame === "object") receive(frame);
  });
  ws.addEventListener("close", (event) => {
    if (ws === socket) lost(event.code);
  });
}

// The connection is gone (closed, or silent past the pong wait): offline at once, and try again.
function lost(code) {
  socket = null;
  connected = false;
  syncing = false;
  clearTimeout(syncRetryTimer);
  presence(null); // who is here is no longer known: presence.js dims the bar
  clearInterval(pingTimer);
  clearTimeout(pongTimer);
  // 4401 signed out, 4403 removed from the board, 4404 not a member: trying again cannot help
  if ([4401, 4403, 4404].includes(code)) {
    stopped = true;
    signedOut = code === 4401;
    // signed out while the board was open (the password changed, the account was deactivated, a
    // log-out elsewhere): load the page again, which is now the log-in page and comes back here.
    // Not with changes waiting (they stay in this tab; the status says so), nor when the first
    // connection was refused (no reload loop if the page and the socket ever disagree).
    if (signedOut && everConnected && !unsaved()) {
      showStatus();
      location.reload();
      return;
    }
  } else {
    retryLater();
  }
  showStatus();
}

function retryLater() {
  if (stopped || retryTimer) return;
  const ceiling = Math.min(TIMINGS.retryMax, TIMINGS.retryFirst * 2 ** attempts);
  attempts += 1;
  // jitter: a restarted server is not hit by every tab in the same millisecond
  const delay = ceiling / 2 + Math.random() * (ceiling / 2);
  retryTimer = setTimeout(() => {
    retryTimer = 0;
    connect();
  }, delay);
}

// The browser knows better than the back-off when trying again is worth it.
function reconnectNow() {
  if (stopped || socket) return;
  attempts = 0;
  connect();
}

function sendFrame(frame) {
  if (!socket || socket.readyState !== WebSocket.OPEN) return false;
  socket.send(JSON.stringify(frame));
  return true;
}

function startPings() {
  clearInterval(pingTimer);
  pingTimer = setInterval(() => {
    if (!sendFrame({ type: "ping" })) return;
    // no pong: the connection is dead without having said so (a sleeping laptop, a lost Wi-Fi).
    // Chromium says `close` only when its closing handshake times out, a minute later: the page
    // drops the socket itself (its late events are ignored) and is offline now.
    clearTimeout(pongTimer);
    const silent = socket;
    pongTimer = setTimeout(() => {
      if (socket !== silent) return;
      lost(1006);
      try {
        silent.close();
      } catch {
        // already closing
      }
    }, TIMINGS.pongWait);
  }, TIMINGS.ping);
}

// --- Frames from the server ----------------------------------------------------------------------

function receive(frame) {
  switch (frame.type) {
    case "welcome":
      welcomed(frame);
      break;
    case "op":
    case "sync":
    case "reset":
    case "lint":
      if (dragging) held.push(frame);
      else deliver(frame);
      break;
    case "ack":
      settle(frame.client_id);
      break;
    case "refused":
      refused(frame);
      break;
    case "presence":
      presence(frame.members || []);
      break;
    case "version":
      // a version was published or decided: no rev, just the badge as a page load draws it
      for (const fragment of frame.fragments || []) applyFragment(fragment);
      break;
    case "undo":
    case "redo":
      undone(frame);
      break;
    case "error":
      toast(frame.detail || "The live connection reported an error.", "error");
      // while a sync is on its way, most likely its answer (the server names it `about: "sync"`):
      // nothing else will come for it, so it is asked again later (an answer that does come
      // meanwhile cancels that)
      if (syncing && (!frame.about || frame.about === "sync")) syncFailed();
      break;
    case "pong":
      clearTimeout(pongTimer);
      break;
    case "beat":
      // the server's rev every few seconds: a frame lost with nothing after it shows here
      if (typeof frame.rev === "number" && frame.rev > rev && !syncing) requestSync(rev);
      break;
    default:
      break;
  }
}

function welcomed(frame) {
  connected = true;
  everConnected = true;
  attempts = 0;
  you = frame.you || null;
  startPings();
  // a refusal's request for the whole board may have been lost with the last connection
  requestSync(needsReset ? 0 : rev);
  for (const item of queue) sendFrame(item);
  if (editing) sendFrame({ type: "presence", editing });
  resubmitPendingForms();
  showStatus();
}

function deliver(frame) {
  if (frame.type === "op") return opArrived(frame);
  if (frame.type === "reset") return resetArrived(frame);
  if (frame.type === "lint") return lintArrived(frame);
  return syncArrived(frame);
}

function opArrived(frame) {
  if (syncing) {
    waiting.push(frame);
    return;
  }
  if (typeof frame.rev !== "number" || frame.rev <= rev) return;
  if (frame.rev > rev + 1) {
    // a gap: something was missed; ask once, and keep this frame until the answer
    waiting.push(frame);
    requestSync(rev);
    return;
  }
  applyOp(frame);
}

let frameActor = null; // who made the operation whose frame is being applied

function applyOp(frame) {
  frameActor = frame.actor || null;
  try {
    for (const fragment of frame.fragments || []) {
      try {
        applyFragment(fragment);
      } catch (error) {
        // one bad fragment must not stop the rest; the next full resync repairs the page
        console.warn("live board: could not apply", fragment, error);
      }
    }
  } finally {
    frameActor = null;
  }
  rev = frame.rev;
  if (frame.client_id) {
    settle(frame.client_id);
    formSaved(frame.client_id);
  }
  markRev();
}

// The lint panel and summary: they follow a burst of operations in a `lint` frame of their own, and
// come with every `sync` (unless the page shows them already) and `reset`. A lint may be a little
// ahead of the board (operations still on their way), never behind it.
function lintArrived(frame) {
  if (typeof frame.rev === "number") {
    if (frame.rev < lintRev) return;
    lintRev = frame.rev;
  }
  for (const fragment of frame.fragments || []) applyFragment(fragment);
}

function syncArrived(frame) {
  syncing = false;
  syncFailures = 0;
  clearTimeout(syncRetryTimer);
  for (const op of (frame.frames || []).filter((op) => op.rev > rev)) applyOp(op);
  if (typeof frame.rev === "number" && frame.rev > rev) rev = frame.rev;
  lintArrived(frame);
  markRev();
  drainWaiting();
}

function resetArrived(frame) {
  syncing = false;
  syncFailures = 0;
  clearTimeout(syncRetryTimer);
  needsReset = false;
  // what this person may do changed (a viewer made editor, say): the page around the board, its
  // scripts and buttons, are drawn for a role too, so the page is drawn again
  const shown = document.getElementById("board");
  if (typeof frame.role === "string" && shown && canEdit(frame.role) !== shown.hasAttribute("data-can-edit")) {
    location.reload();
    return;
  }
  const board = document.getElementById("board");
  const fresh = parse(frame.html);
  if (board && fresh) swapIn(fresh, () => board.before(fresh), board);
  // the title and the activity panel, which the skipped operations may have changed too
  for (const fragment of frame.fragments || []) applyFragment(fragment);
  if (typeof frame.rev === "number") {
    rev = frame.rev;
    lintRev = Math.max(lintRev, frame.rev);
  }
  markRev();
  drainWaiting();
}

function drainWaiting() {
  const frames = waiting.sort((a, b) => a.rev - b.rev);
  waiting = [];
  for (const frame of frames) opArrived(frame);
}

function requestSync(since) {
  if (!connected) return;
  clearTimeout(syncRetryTimer);
  syncing = true;
  sendFrame({ type: "sync", since });
}

// The server could not answer a sync: the frames waiting for it go on waiting, and it is asked
// again after a while (from where the page is, or for the whole board).
function syncFailed() {
  // `syncing` stays set: frames that arrive meanwhile must not be applied over the gap the sync
  // was to fill, they wait for the next answer
  syncFailures += 1;
  const delay = Math.min(TIMINGS.retryMax, TIMINGS.retryFirst * 2 ** syncFailures);
  clearTimeout(syncRetryTimer);
  syncRetryTimer = setTimeout(() => requestSync(needsReset ? 0 : rev), delay);
}

// Asked for after a refusal: the page may show a move the server did not make. A sync from rev 0
// is answered with the whole board (a reset); offline, the next connection asks for it.
function resyncFully() {
  needsReset = true;
  if (connected) requestSync(0);
}

function canEdit(role) {
  return role === "owner" || role === "editor";
}

// --- Fragments -----------------------------------------------------------------------------------

function applyFragment(fragment) {
  switch (fragment.do) {
    case "replace": {
      const old = document.getElementById(fragment.id);
      const fresh = old && parse(fragment.html);
      if (fresh && !sameContent(old, fresh)) swapIn(fresh, () => old.before(fresh), old);
      break;
    }
    case "remove":
      removeElement(fragment.id, fragment.by);
      break;
    case "place":
      place(fragment);
      break;
    case "prepend":
      prependActivity(fragment);
      break;
    case "board": {
      const board = document.getElementById("board");
      const fresh = board && parse(fragment.html);
      if (fresh) swapIn(fresh, () => board.before(fresh), board);
      break;
    }
    default:
      break;
  }
}

function place({ id, html, parent: parentId, before: beforeId, order }) {
  const parent = document.getElementById(parentId);
  if (!parent) {
    // the parent comes with a later frame (fragments show the state at sending time); meanwhile
    // the element is not where the server says it is, so it goes
    removeElement(id, null, { quiet: true });
    return;
  }
  const fresh = parse(html);
  if (!fresh) return;
  const old = document.getElementById(id);
  const found = beforeId ? byId(beforeId) : null;
  const before = found && found.parentElement === parent ? found : null;
  const anchor = before || parent.querySelector(":scope > [data-end]");
  if (old && sameContent(old, fresh)) {
    // unchanged, only elsewhere (or already there: this tab's own move, a frame applied again):
    // move the element itself, so its focus, hover and open description stay
    const inPlace = old.parentElement === parent && old.nextElementSibling === anchor;
    if (!inPlace) {
      const focus = focusNow();
      move(old, parent, anchor);
      restoreFocus(focus);
      changed(null);
    }
  } else {
    swapIn(fresh, () => parent.insertBefore(fresh, anchor), old);
  }
  reorder(parent, order);
}

// The list's elements this page has, put in the order the server has them now. `before` alone is
// not enough: this page may show a move of its own that the server has not made yet, and the
// element named may stand elsewhere here; the last frame to touch a list leaves it in the
// database's order. Elements the order does not name (on their way elsewhere) go first.
function reorder(parent, order) {
  if (!Array.isArray(order)) return;
  const wanted = [];
  for (const id of order) {
    const el = typeof id === "string" ? byId(id) : null;
    if (el && el.parentElement === parent) wanted.push(el);
  }
  const shown = [...parent.children].filter((el) => wanted.includes(el));
  if (shown.every((el, index) => el === wanted[index])) return;
  const focus = focusNow();
  const end = parent.querySelector(":scope > [data-end]");
  for (const el of wanted) move(el, parent, end);
  restoreFocus(focus);
  changed(null);
}

function removeElement(id, by, { quiet = false } = {}) {
  const element = document.getElementById(id);
  if (element) {
    const lost = openForms(element).filter((form) => !("deleting" in form.dataset));
    element.remove();
    if (lost.length && !quiet) {
      const who = by || "Someone";
      toast(`${who} deleted this while you were editing in it; what you typed there is gone.`, "info");
    }
  }
  const form = document.getElementById(`${id}-edit`);
  if (form && "deleting" in form.dataset) form.remove();
  else if (form && !quiet) markDeleted(form, by);
  changed(null);
}

function markDeleted(form, by) {
  form.classList.add("deleted");
  let notice = form.querySelector(".form-deleted");
  if (!notice) {
    notice = document.createElement("p");
    notice.className = "form-deleted";
    notice.setAttribute("role", "alert");
    const body = form.querySelector("form") || form;
    body.prepend(notice);
  }
  notice.textContent = `${by || "Someone"} ${DELETED_NOTICE}`;
}

// --- Forms over the board -------------------------------------------------------------------------

// An edit form opens over what it edits (its counterpart: `offer-x-edit` over `offer-x`,
// `stage-new-form` over `stage-new`), which stays in the page, hidden, right after it: the frames
// keep it current like everything else. Closing a form — Cancel, Escape, or its change saved and
// shown — removes the form and shows the counterpart as the frames left it. Nothing but a frame
// paints the board: a form's POST answers only what the form needs (204 when saved, the form again
// with its errors when refused).

const closing = new Map(); // open form → the rev after which it closes (its operation's frame)

document.addEventListener(
  "click",
  (event) => {
    const cancel = event.target.closest && event.target.closest(".editing[id] [data-cancel]");
    if (!cancel) return;
    event.preventDefault();
    event.stopPropagation();
    closeForm(cancel.closest(".editing[id]"));
  },
  true,
);

// This tab's form whose operation the page now shows (the frame names the id the form was posted
// with): it closes without waiting for its POST's answer.
function formSaved(clientId) {
  for (const elt of document.querySelectorAll("[data-client-id]")) {
    if (elt.dataset.clientId !== clientId) continue;
    const layer = elt.closest(".editing[id]");
    if (layer && !("deleting" in layer.dataset)) closeForm(layer);
  }
}

function closeWhenShown(layer, savedAt) {
  if (!layer.isConnected) return;
  if (savedAt <= rev) closeForm(layer);
  else closing.set(layer, savedAt);
}

function closeForm(layer) {
  closing.delete(layer);
  if (!layer || !layer.isConnected) return;
  const counterpart = document.getElementById(counterpartId(layer.id));
  const hadFocus = layer.contains(document.activeElement);
  unpend(layer.querySelector("form") || layer);
  layer.remove();
  if (counterpart) {
    counterpart.hidden = false;
    if (hadFocus) {
      const button = counterpart.querySelector("button:not([disabled])");
      (button || counterpart).focus({ preventScroll: true });
    }
  }
  changed(null);
}

// Every open form stands right before its counterpart, which is hidden; a second copy of a form
// (an Edit pressed twice) goes.
function layForms() {
  const seen = new Set();
  for (const layer of openForms(document)) {
    if (seen.has(layer.id)) {
      layer.remove();
      continue;
    }
    seen.add(layer.id);
    const counterpart = document.getElementById(counterpartId(layer.id));
    if (!counterpart) continue;
    if (layer.nextElementSibling !== counterpart) move(layer, counterpart.parentElement, counterpart);
    counterpart.hidden = true;
  }
}

// The forms whose change the page now shows close.
function closeShown() {
  const due = [...closing].filter(([layer, savedAt]) => !layer.isConnected || savedAt <= rev);
  for (const [layer] of due) closeForm(layer);
}

// A form htmx has just put in (opened, or shown again with its errors) covers its counterpart.
document.addEventListener("htmx:afterSwap", (event) => {
  if (boardRequest(event)) layForms();
});

function prependActivity({ id, html }) {
  const list = document.getElementById("activity-list");
  // an operation's line never changes: one applied again after a resync is already there
  if (!list || document.getElementById(id)) return;
  const fresh = parse(html);
  if (!fresh) return;
  // newest first, by rev, even when frames are applied again after a resync
  const number = (el) => Number((el.id || "").replace("activity-", "")) || 0;
  const after = [...list.children].find((el) => number(el) < number(fresh));
  list.insertBefore(fresh, after || null);
  while (list.children.length > ACTIVITY_KEEP) list.lastElementChild.remove();
  changed(fresh);
}

// --- The one swap --------------------------------------------------------------------------------

// Puts `fresh` into the page with `insert`, then moves every open edit form whose counterpart is
// in `fresh` into its place (the same element, so what was typed, the caret and an htmx request
// still under way all stay), then removes `old`. Focus, selection and the board's scroll are
// restored; the new content is wired for htmx.
function swapIn(fresh, insert, old) {
  const focus = focusNow();
  const board = document.getElementById("board");
  const scroll = board && { top: board.scrollTop, left: board.scrollLeft };
  insert();
  const redrawn = [];
  for (const form of openForms(document)) {
    if (fresh.contains(form)) continue;
    const counterpart = findIn(fresh, counterpartId(form.id));
    if (counterpart) {
      move(form, counterpart.parentElement, counterpart);
      counterpart.hidden = true;
      redrawn.push(form);
    }
  }
  if (old && old !== fresh && old.isConnected) {
    const orphans = openForms(old).filter((form) => !("deleting" in form.dataset));
    old.remove();
    if (orphans.length) toast("Someone deleted what you were editing; what you typed there is gone.", "info");
  }
  if (fresh.id === "board") {
    if (scroll) {
      fresh.scrollTop = scroll.top;
      fresh.scrollLeft = scroll.left;
    }
  } else {
    dropDuplicates(fresh);
  }
  restoreFocus(focus);
  changed(fresh);
  // what the form edits may have changed under the person's hands: conflicts.js compares
  for (const form of redrawn) {
    if (form.isConnected) {
      document.dispatchEvent(new CustomEvent("blueprint:redrawn", { detail: { form, actor: frameActor } }));
    }
  }
}

function changed(element) {
  layForms();
  if (element && element.isConnected && htmx) {
    htmx.process(element);
    // what htmx says after its own swaps, so htmx.onLoad handlers (SortableJS) see this content too
    htmx.trigger(element, "htmx:load", { elt: element });
  }
  markRev();
  document.dispatchEvent(new CustomEvent("blueprint:swapped", { detail: { element } }));
}

function move(element, parent, before) {
  if (parent.moveBefore && element.isConnected && parent.isConnected) {
    try {
      // keeps focus, selection and state (Chromium 133+)
      parent.moveBefore(element, before);
      return;
    } catch {
      // fall through
    }
  }
  parent.insertBefore(element, before);
}

// A stale copy of a stage or card the new content also holds (the server renders the present).
function dropDuplicates(fresh) {
  if (!fresh.isConnected) return;
  const ids = [fresh, ...fresh.querySelectorAll(".column[id], .card[id]")].map((el) => el.id).filter(Boolean);
  for (const id of ids) {
    for (const el of document.querySelectorAll(`[id="${CSS.escape(id)}"]`)) {
      if (!fresh.contains(el)) el.remove();
    }
  }
}

const FORM_ID = /-(edit|form)$/;

function openForms(root) {
  const forms = [...root.querySelectorAll(".editing[id]")];
  if (root.matches && root.matches(".editing[id]")) forms.unshift(root);
  // a form inside another open form travels with it
  const nested = (el) => el.parentElement && el.parentElement.closest(".editing[id]");
  return forms.filter((el) => FORM_ID.test(el.id) && !nested(el));
}

function counterpartId(formId) {
  return formId.replace(FORM_ID, "");
}

function findIn(root, id) {
  if (root.id === id) return root;
  return root.querySelector(`#${CSS.escape(id)}`);
}

function byId(id) {
  return document.getElementById(id);
}

function focusNow() {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const state = { el, id: el.id, scrollTop: el.scrollTop, scrollLeft: el.scrollLeft };
  try {
    state.start = el.selectionStart;
    state.end = el.selectionEnd;
    state.direction = el.selectionDirection;
  } catch {
    // inputs without a selection (number, date, checkbox)
  }
  return state;
}

function restoreFocus(state) {
  if (!state) return;
  let el = state.el;
  // a move button re-rendered with its card: focus its successor, same id
  if (!el.isConnected) el = state.id ? document.getElementById(state.id) : null;
  if (!el || document.activeElement === el) return;
  el.focus({ preventScroll: true });
  if (el === state.el && typeof state.start === "number") {
    try {
      el.setSelectionRange(state.start, state.end, state.direction || "none");
    } catch {
      // not a text field
    }
  }
  el.scrollTop = state.scrollTop;
  el.scrollLeft = state.scrollLeft;
}

// Whether `old` shows what `fresh` does. What other modules draw on server-rendered content
// (lint.js's markers) carries data-decoration and is no part of it: they draw it again after a swap.
function sameContent(old, fresh) {
  if (old.isEqualNode(fresh)) return true;
  if (!old.querySelector("[data-decoration]")) return false;
  const bare = old.cloneNode(true);
  for (const el of bare.querySelectorAll("[data-decoration]")) el.remove();
  return bare.isEqualNode(fresh);
}

function parse(html) {
  const template = document.createElement("template");
  template.innerHTML = (html || "").trim();
  return template.content.firstElementChild;
}

function markRev() {
  const board = document.getElementById("board");
  if (board) board.dataset.rev = String(rev);
  if (closing.size) closeShown();
}

// --- The drag ------------------------------------------------------------------------------------

document.addEventListener("blueprint:drag", (event) => {
  dragging = Boolean(event.detail && event.detail.active);
  if (dragging) return;
  const frames = held;
  held = [];
  for (const frame of frames) deliver(frame);
});

// --- This tab's operations -----------------------------------------------------------------------

// A refused op: a status 500 (the server failed, nothing was saved) is sent again a few times;
// anything else is final, and the page goes back to what the database holds.
function refused(frame) {
  const clientId = frame.client_id;
  const failures = (serverFailures.get(clientId) || 0) + 1;
  if (frame.status >= 500 && failures <= SERVER_RETRIES && queue.some((item) => item.client_id === clientId)) {
    serverFailures.set(clientId, failures);
    if (failures === 1) toast(frame.detail || "The server could not save that change; trying again.", "info");
    setTimeout(() => {
      const item = queue.find((queued) => queued.client_id === clientId);
      if (item && connected) sendFrame(item);
    }, TIMINGS.formRetry * failures);
    showStatus();
    return;
  }
  serverFailures.delete(clientId);
  settle(clientId);
  // a limit is named for programs ("(limit offers_per_stage)"); people read the sentence
  const said = (frame.detail || "").replace(/ \(limit [a-z_]+\)(?=\.)/g, "");
  toast(said || "The server refused that change.", "error");
  resyncFully();
}

export function send(op, payload) {
  const item = { type: "op", client_id: newId(), op, payload };
  queue.push(item);
  saveQueue();
  if (connected) sendFrame(item);
  showStatus();
  return item.client_id;
}

document.addEventListener("blueprint:op", (event) => {
  if (event.detail && event.detail.op) send(event.detail.op, event.detail.payload || {});
});

function settle(clientId) {
  const before = queue.length;
  queue = queue.filter((item) => item.client_id !== clientId);
  if (queue.length !== before) saveQueue();
  showStatus();
}

function loadQueue() {
  if (!queueKey) return [];
  try {
    const stored = JSON.parse(sessionStorage.getItem(queueKey) || "[]");
    return Array.isArray(stored) ? stored.filter((item) => item && item.client_id && item.op) : [];
  } catch {
    return [];
  }
}

function saveQueue() {
  try {
    if (queue.length) sessionStorage.setItem(queueKey, JSON.stringify(queue));
    else sessionStorage.removeItem(queueKey);
  } catch {
    // storage full or disabled: the queue still lives for this page
  }
}

export function newId() {
  if (window.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  if (window.crypto && crypto.getRandomValues) crypto.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

// --- Board forms posted through htmx -------------------------------------------------------------

function boardRequest(event) {
  const elt = event.detail && event.detail.elt;
  return Boolean(elt && page.contains(elt));
}

function isPost(event) {
  const config = event.detail.requestConfig || event.detail;
  return String(config.verb || "").toLowerCase() === "post";
}

document.addEventListener("htmx:configRequest", (event) => {
  if (!boardRequest(event) || String(event.detail.verb).toLowerCase() !== "post") return;
  // the same id for every attempt at this submission, so the server applies it once
  const elt = event.detail.elt;
  if (!elt.dataset.clientId) elt.dataset.clientId = newId();
  event.detail.parameters.client_id = elt.dataset.clientId;
});

document.addEventListener("htmx:beforeRequest", (event) => {
  if (!boardRequest(event) || !isPost(event)) return;
  const xhr = event.detail.xhr;
  if (xhr) {
    inFlight.add(xhr);
    // on the request itself: htmx's own events do not reach the page from a form closed meanwhile
    xhr.addEventListener("loadend", () => {
      inFlight.delete(xhr);
      showStatus();
    });
    showStatus();
  }
  // a form's own Delete: the frame that removes what it edits closes it, with no "deleted by" note
  const elt = event.detail.elt;
  const layer = elt.matches && elt.matches(".form-delete") && elt.closest(".editing[id]");
  if (layer) layer.dataset.deleting = "";
});

// htmx says so on the element that made the request, or on its closest ancestor still in the page
// when the answer replaced it; either way once per request here.
function requestDone(event) {
  const xhr = event.detail.xhr;
  if (!xhr || xhr.blueprintDone || !isPost(event) || !boardRequest(event)) return;
  xhr.blueprintDone = true;
  const config = event.detail.requestConfig;
  const elt = (config && config.elt) || event.detail.elt;
  if (event.detail.successful && elt) {
    delete elt.dataset.clientId;
    unpend(elt);
    // saved: the form closes once the page shows the operation's frame (the server says its rev)
    const layer = elt.closest && elt.closest(".editing[id]");
    if (layer && xhr.status === 204) closeWhenShown(layer, savedRev(xhr));
  } else if (elt && elt.closest) {
    const layer = elt.closest(".editing[id]");
    if (layer) delete layer.dataset.deleting;
  }
  showStatus();
}
document.addEventListener("htmx:afterRequest", requestDone);
document.addEventListener("htmx:afterSettle", requestDone);

// The rev of the operation a form's POST made, or 0 when it changed nothing.
function savedRev(xhr) {
  const value = Number(xhr.getResponseHeader("Blueprint-Saved-Rev"));
  return Number.isInteger(value) && value > 0 ? value : 0;
}

// Lost on the way: the form stays as typed, says so, and goes again when the socket is back.
window.addEventListener(
  "htmx:sendError",
  (event) => {
    const elt = event.detail && event.detail.elt;
    if (!elt || elt.tagName !== "FORM" || !page.contains(elt) || !isPost(event)) return;
    event.detail.retryLater = true; // app.js then shows no toast
    pend(elt);
    if (connected) {
      clearTimeout(formRetryTimer);
      formRetryTimer = setTimeout(resubmitPendingForms, TIMINGS.formRetry);
    }
  },
  true,
);

function pend(form) {
  pendingForms.add(form);
  form.classList.add("pending");
  if (!form.querySelector(".form-pending")) {
    const note = document.createElement("p");
    note.className = "form-pending";
    note.setAttribute("role", "status");
    note.textContent = PENDING_NOTE;
    const actions = form.querySelector(".form-actions");
    form.insertBefore(note, actions);
  }
  showStatus();
}

function unpend(form) {
  if (!pendingForms.delete(form)) return;
  form.classList.remove("pending");
  const note = form.querySelector(".form-pending");
  if (note) note.remove();
}

// Typing into a pending edit form makes it another change: a new id, so the newer fields are not
// taken for a repeat of the first attempt (which may have reached the server after all).
document.addEventListener("input", (event) => {
  const form = event.target.closest && event.target.closest("form.pending");
  if (form && form.querySelector("input[name=orig]")) delete form.dataset.clientId;
});

function resubmitPendingForms() {
  clearTimeout(formRetryTimer);
  for (const form of [...pendingForms]) {
    if (!form.isConnected) {
      pendingForms.delete(form);
      continue;
    }
    htmx.trigger(form, "submit");
  }
  showStatus();
}

// --- Status --------------------------------------------------------------------------------------

function unsaved() {
  return queue.length + inFlight.size + pendingForms.size;
}

// Closing the tab drops what sessionStorage holds for it: ask first while anything is unsaved.
// (A reload keeps the queue and sends it again, but the browser cannot tell the two apart.)
window.addEventListener("beforeunload", (event) => {
  if (!unsaved()) return;
  event.preventDefault();
  event.returnValue = "";
});

function showStatus() {
  const status = document.getElementById("sync-status");
  const count = unsaved();
  let state;
  let text;
  if (stopped && signedOut) {
    state = "offline";
    // only a log-in can help: reloading the page leads to it
    text = count ? `Signed out — ${changes(count)} not saved; log in again` : "Signed out — reload to log in";
  } else if (stopped) {
    state = "offline";
    // no longer a member: only a reload can help
    text = count ? `Disconnected — ${changes(count)} not saved` : "Disconnected — reload the page";
  } else if (!connected && count) {
    state = "offline";
    text = `Offline — ${changes(count)} not saved yet`;
  } else if (!connected) {
    state = "connecting";
    text = everConnected ? "Reconnecting…" : "Connecting…";
  } else if (count) {
    state = "saving";
    text = "Saving…";
  } else {
    state = "saved";
    text = "All changes saved";
  }
  if (status && (status.dataset.state !== state || status.textContent !== text)) {
    status.dataset.state = state;
    status.textContent = text;
  }
  for (const id of ["undo", "redo"]) {
    const button = document.getElementById(id);
    if (button) button.disabled = !connected;
  }
}

function changes(count) {
  return count === 1 ? "1 change" : `${count} changes`;
}

// --- Undo and redo -------------------------------------------------------------------------------

function undo(kind) {
  if (!connected) return;
  sendFrame({ type: kind, client_id: newId() });
}

function undone(frame) {
  const message = frame.message || "";
  if (!frame.done || /skipped/i.test(message)) {
    toast(message || (frame.type === "undo" ? "Nothing to undo" : "Nothing to redo"), "info");
  } else {
    announce(message);
  }
}

document.addEventListener("click", (event) => {
  const button = event.target.closest && event.target.closest("#undo, #redo");
  if (button) undo(button.id);
});

const EDITABLE = "[contenteditable]:not([contenteditable=false])";

document.addEventListener("keydown", (event) => {
  if (!(event.ctrlKey || event.metaKey) || event.altKey) return;
  const key = event.key.toLowerCase();
  const kind = key === "y" || (key === "z" && event.shiftKey) ? "redo" : key === "z" ? "undo" : null;
  if (!kind || !document.getElementById(kind)) return;
  // in a field the browser's own text undo applies
  const target = event.target;
  if (target.closest && target.closest(`input, textarea, select, ${EDITABLE}`)) return;
  event.preventDefault();
  undo(kind);
});

// --- Presence: what this tab edits ---------------------------------------------------------------

document.addEventListener("blueprint:editing", (event) => {
  const next = (event.detail && event.detail.editing) || null;
  if (next === editing) return;
  editing = next;
  if (connected) sendFrame({ type: "presence", editing });
});

// --- Small things --------------------------------------------------------------------------------

function presence(members) {
  document.dispatchEvent(new CustomEvent("blueprint:presence", { detail: { members, you } }));
}

function toast(message, kind) {
  document.dispatchEvent(new CustomEvent("blueprint:toast", { detail: { message, kind } }));
}

function start() {
  if (!page || !page.dataset.wsUrl || !("WebSocket" in window)) return;
  const board = document.getElementById("board");
  rev = board ? Number(board.dataset.rev) || 0 : 0;
  lintRev = rev;
  window.addEventListener("online", reconnectNow);
  // the browser knows the network is gone: offline now, not when the closing handshake times out
  window.addEventListener("offline", () => {
    const gone = socket;
    if (!gone) return;
    lost(1006);
    try {
      gone.close();
    } catch {
      // already closing
    }
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") reconnectNow();
  });
  showStatus();
  connect();
}

start();
