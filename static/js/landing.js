// The landing page: make a board (keeping its owner key), open a board by
// name, and list boards opened here.

import { createBoard } from "./owner.js";

const BOARD_ID = /^[A-Za-z0-9_-]{1,64}$/;
const RECENT_KEY = "whitebrd.recent";

function _recent() {
  try {
    const recent = JSON.parse(localStorage.getItem(RECENT_KEY) || "[]");
    return Array.isArray(recent)
      ? recent.filter(
          (entry) =>
            entry && typeof entry.id === "string" && BOARD_ID.test(entry.id),
        )
      : [];
  } catch {
    return [];
  }
}

function _showRecent() {
  const recent = _recent();
  const section = document.getElementById("recent");
  if (!recent.length) {
    return;
  }
  const list = section.querySelector("ul");
  for (const entry of recent) {
    const link = document.createElement("a");
    link.href = `/b/${entry.id}`;
    link.textContent = entry.id;
    const item = document.createElement("li");
    item.append(link);
    if (Number.isFinite(entry.at)) {
      const when = document.createElement("time");
      when.dateTime = new Date(entry.at).toISOString();
      when.textContent = new Date(entry.at).toLocaleDateString();
      item.append(when);
    }
    list.append(item);
  }
  section.hidden = false;
}

function _storage() {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

function main() {
  // "New board" asks for JSON, to keep the owner key; the plain form post
  // still works without it.
  const create = document.querySelector("form.create");
  create?.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      location.assign(await createBoard(_storage()));
    } catch (error) {
      console.warn("whitebrd: making a board with its owner key failed", error);
      create.submit();
    }
  });

  const form = document.getElementById("open-board");
  const input = document.getElementById("board-name");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = input.value.trim();
    if (!BOARD_ID.test(name)) {
      input.setCustomValidity("Use letters, digits, - and _, up to 64.");
      input.reportValidity();
      return;
    }
    location.assign(`/b/${name}`);
  });
  input.addEventListener("input", () => input.setCustomValidity(""));
  _showRecent();
}

main();
