// Drag and drop on the board: SortableJS moves a card or a column in the page, and this module
// turns the new place into a move operation — {key, stage, before|after}, read from the DOM
// neighbours — handed to the live board's op queue (live.js, through a `blueprint:op` event),
// which sends it over the socket; the server computes the rank. The move buttons (for keyboard
// users) do the same through the same path. The page moves at once; a move the server refuses
// comes back as `refused`, and live.js then reloads the board as the database holds it.
//
// From the press on a card or a column handle until it is let go, live.js holds every incoming
// change (`blueprint:drag` {active}), so nothing is swapped out from under the pointer.

import { announce } from "./announce.js";

const htmx = window.htmx;
const page = document.querySelector(".board-page");

let Sortable = null;

async function start() {
  if (!htmx || !page) return;
  ({ default: Sortable } = await import(page.dataset.sortableUrl));
  htmx.onLoad(attach);
  // what live.js removes without new content in its place (a deleted stage) is let go too
  document.addEventListener("blueprint:swapped", forget);
  attach(document.body);
}

// --- SortableJS on whatever is (re)rendered ------------------------------------------------------

// Lists with a SortableJS instance. SortableJS keeps every instance (and so its list and cards) in
// a module-wide array until destroy(): a list that live frames swapped out would live as long as
// the page, and be scanned on every drag.
const sortables = new Set();

function forget() {
  for (const list of sortables) {
    if (list.isConnected) continue;
    list.sortable.destroy();
    delete list.sortable;
    sortables.delete(list);
  }
}

function attach(root) {
  forget();
  if (!Sortable || !document.querySelector("#board[data-can-edit]")) return;
  for (const list of within(root, ".columns")) {
    if (list.sortable) continue;
    sortables.add(list);
    list.sortable = Sortable.create(list, {
      ...common,
      group: "stages",
      draggable: ".column",
      handle: ".column-handle",
      onEnd: (event) => dropped(event, stageMove),
    });
  }
  for (const list of within(root, ".offer-list")) {
    if (list.sortable) continue;
    sortables.add(list);
    list.sortable = Sortable.create(list, {
      ...common,
      group: "offers",
      draggable: ".card[data-offer-key]:not(.editing)",
      filter: "button, a, input, select, textarea, label",
      preventOnFilter: false,
      onEnd: (event) => dropped(event, offerMove),
    });
  }
}

const common = {
  animation: 150,
  // The fallback drag (a clone that follows the pointer) behaves the same with a mouse, a pen,
  // a touch screen and a headless browser, unlike native HTML5 drag and drop.
  forceFallback: true,
  fallbackOnBody: true,
  fallbackTolerance: 4,
  ghostClass: "drag-ghost",
  chosenClass: "drag-chosen",
  dragClass: "drag-dragging",
  // held from the press, not from the drag's start a few pixels later: a card swapped out between
  // the two is one SortableJS still holds, and the drag dies with it
  onChoose: () => dragging(true),
  // a press let go without a drag ends here; a drop ends in `dropped` (onEnd), which comes after
  // this in the same call and reads the move first
  onUnchoose: () => setTimeout(() => dragging(false)),
};

function within(root, selector) {
  const found = [...root.querySelectorAll(selector)];
  if (root.matches && root.matches(selector)) found.unshift(root);
  return found;
}

// The move is read and queued before live.js lets held changes in, so they cannot shift the
// neighbours it is read from.
function dropped(event, move) {
  try {
    if (event.from !== event.to || event.oldIndex !== event.newIndex) move(event.item);
  } finally {
    dragging(false);
  }
}

function dragging(active) {
  document.dispatchEvent(new CustomEvent("blueprint:drag", { detail: { active } }));
}

// --- Moves: read the new place from the DOM, queue the operation ---------------------------------

function neighbourKeys(item, selector, key) {
  const siblings = [...item.parentElement.children].filter((el) => el.matches(selector));
  const index = siblings.indexOf(item);
  const next = siblings[index + 1];
  const prev = siblings[index - 1];
  if (next) return { before: next.dataset[key] };
  if (prev) return { after: prev.dataset[key] };
  return {};
}

function offerMove(card) {
  const list = card.closest(".offer-list");
  operation("offer.move", {
    key: card.dataset.offerKey,
    stage: list.dataset.stageKey,
    ...neighbourKeys(card, "[data-offer-key]", "offerKey"),
  });
}

function stageMove(column) {
  operation("stage.move", {
    key: column.dataset.stageKey,
    ...neighbourKeys(column, "[data-stage-key]", "stageKey"),
  });
}

function operation(op, payload) {
  document.dispatchEvent(new CustomEvent("blueprint:op", { detail: { op, payload } }));
}

// --- The move buttons ----------------------------------------------------------------------------

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-move]");
  if (!button || !page) return;
  const direction = button.dataset.move;
  const card = button.closest(".card[data-offer-key]");
  const column = button.closest(".column[data-stage-key]");
  const moved = card ? moveCard(card, direction) : column && moveColumn(column, direction);
  if (!moved) {
    refuse(button, `${button.getAttribute("aria-label")}: it cannot move further that way.`);
    return;
  }
  button.focus();
  button.scrollIntoView({ block: "nearest", inline: "nearest" });
});

function moveCard(card, direction) {
  const list = card.parentElement;
  const cards = () => [...list.children].filter((el) => el.matches("[data-offer-key]"));
  const index = cards().indexOf(card);
  if (direction === "up" || direction === "down") {
    const other = cards()[direction === "up" ? index - 1 : index + 1];
    if (!other) return false;
    list.insertBefore(card, direction === "up" ? other : other.nextSibling);
  } else {
    const columns = [...document.querySelectorAll("#board .column")];
    const here = columns.indexOf(card.closest(".column"));
    const target = columns[direction === "prev" ? here - 1 : here + 1];
    if (!target) return false;
    const targetList = target.querySelector(".offer-list");
    targetList.insertBefore(card, targetList.querySelector(":scope > [data-end]"));
  }
  offerMove(card);
  return true;
}

function moveColumn(column, direction) {
  const columns = [...column.parentElement.children].filter((el) => el.matches(".column"));
  const index = columns.indexOf(column);
  const other = columns[direction === "left" ? index - 1 : index + 1];
  if (!other) return false;
  column.parentElement.insertBefore(column, direction === "left" ? other : other.nextSibling);
  stageMove(column);
  return true;
}

// Said through the page's live region, so a screen reader hears it; a title is only a tooltip.
function refuse(button, message) {
  button.classList.add("move-refused");
  setTimeout(() => button.classList.remove("move-refused"), 600);
  announce(message);
}

start();
