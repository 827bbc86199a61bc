// What the board says to screen readers, through its polite live region (#board-status).

export function announce(message) {
  const status = document.getElementById("board-status");
  if (!status) return;
  // emptied first so the same message, said twice in a row, is announced twice
  status.textContent = "";
  setTimeout(() => {
    status.textContent = message;
  }, 50);
}
