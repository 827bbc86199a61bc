// Drag and drop on the board: SortableJS moves a card or a column in the page, and this module
// turns the new place into a move operation — {key, stage, before|after}, read from the DOM
// neighbours — POSTed to the server, which computes the rank. The move buttons (for keyboard
// users) do the same through the same path. If the server refuses, or cannot be reached, the
// board is fetched again so the page shows what the database holds.

const htmx = window.htmx;
const page = document.querySelector(".board-page");
const MOVE_HEADER = "X-Board-Move";

let Sortable = null;

async function start() {
  if (!htmx || !page) return;
  ({ default: Sortable } = await import(page.dataset.sortableUrl));
  htmx.onLoad(attach);
  attach(document.body);
}

// --- SortableJS on whatever htmx (re)renders ---------------------------------------------------

function attach(root) {
  if (!Sortable || !document.querySelector("#board[data-can-edit]")) return;
  for (const list of within(root, ".columns")) {
    if (list.sortable) continue;
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
    list.sortable = Sortable.create(list, {
      ...common,
      group: "offers",
      draggable: ".card[data-move-url]",
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
};

function within(root, selector) {
  const found = [...root.querySelectorAll(selector)];
  if (root.matches && root.matches(selector)) found.unshift(root);
  return found;
}

function dropped(event, move) {
  if (event.from === event.to && event.oldIndex === event.newIndex) return;
  move(event.item);
}

// --- Moves: read the new place from the DOM, post it --------------------------------------------

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
  const values = {
    stage: list.dataset.stageKey,
    ...neighbourKeys(card, "[data-offer-key]", "offerKey"),
  };
  post(card, values);
}

function stageMove(column) {
  post(column, neighbourKeys(column, "[data-stage-key]", "stageKey"));
}

function post(item, values) {
  htmx.ajax("POST", item.dataset.moveUrl, {
    source: item,
    swap: "none",
    values,
    headers: { [MOVE_HEADER]: "1" },
  });
}

// A refused or lost move leaves the page out of step with the database: fetch the board again.
document.addEventListener("htmx:afterRequest", (event) => {
  const config = event.detail.requestConfig;
  if (!config || !config.headers || !config.headers[MOVE_HEADER]) return;
  if (event.detail.successful) return;
  resync();
});

function resync() {
  htmx.ajax("GET", page.dataset.boardUrl, { target: "#board", swap: "outerHTML" });
}

// --- The move buttons ---------------------------------------------------------------------------

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-move]");
  if (!button || !page) return;
  const direction = button.dataset.move;
  const card = button.closest(".card[data-offer-key]");
  const column = button.closest(".column[data-stage-key]");
  const moved = card ? moveCard(card, direction) : column && moveColumn(column, direction);
  if (!moved) {
    announce(button, `${button.getAttribute("aria-label")}: it cannot move further that way.`);
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
    targetList.insertBefore(card, targetList.querySelector(".offer-empty"));
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
function announce(button, message) {
  button.classList.add("move-refused");
  setTimeout(() => button.classList.remove("move-refused"), 600);
  const status = document.getElementById("board-status");
  if (!status) return;
  // emptied first so the same message, said twice in a row, is announced twice
  status.textContent = "";
  setTimeout(() => {
    status.textContent = message;
  }, 50);
}

start();
