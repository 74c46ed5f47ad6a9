// The board page: reads the board id from the address, builds the scene,
// renderer, connection and tools, and wires them to the page.

import { linkFromPath, readOnlyReason } from "./access.js";
import { Identity, localStore } from "./identity.js";
import { PointerInput } from "./input.js";
import { Outbox } from "./outbox.js";
import { clearOp } from "./protocol.js";
import { Renderer } from "./render.js";
import { Scene } from "./scene.js";
import { setupShare } from "./share.js";
import { BoardSync } from "./sync.js";
import { Toolbar } from "./toolbar.js";
import { EraserTool } from "./tools/eraser.js";
import { PenTool } from "./tools/pen.js";

const RECENT_KEY = "whitebrd.recent";
const RECENT_MAX = 12;
const TOAST_MS = 6000;

const DEFAULT_SETTINGS = {
  palette: ["#1e1e1e", "#e03131", "#1971c2", "#2f9e44"],
  widths: [2, 4, 8, 16],
};

const STATUS_TEXT = {
  connecting: "Connecting…",
  live: "Live",
  offline: "Offline",
};

function _settings() {
  const tag = document.getElementById("settings");
  let settings = {};
  try {
    settings = JSON.parse(tag ? tag.textContent : "{}") || {};
  } catch {
    console.warn("whitebrd: the settings tag is not JSON; using defaults");
  }
  const palette = Array.isArray(settings.palette)
    ? settings.palette.filter((c) => /^#[0-9a-fA-F]{6}$/.test(c))
    : [];
  const widths = Array.isArray(settings.widths)
    ? settings.widths.filter((w) => Number.isFinite(w) && w >= 0.5 && w <= 200)
    : [];
  return {
    palette: palette.length ? palette : DEFAULT_SETTINGS.palette,
    widths: widths.length ? widths : DEFAULT_SETTINGS.widths,
  };
}

function _remember(storage, board) {
  // The landing page lists boards opened here, newest first.
  try {
    const recent = JSON.parse(storage?.getItem(RECENT_KEY) || "[]");
    const others = Array.isArray(recent)
      ? recent.filter((entry) => entry && entry.id !== board)
      : [];
    others.unshift({ id: board, at: Date.now() });
    storage?.setItem(RECENT_KEY, JSON.stringify(others.slice(0, RECENT_MAX)));
  } catch {
    // Only the list on the landing page misses it.
  }
}

/** A message at the bottom of the page that fades after a while. */
class Toast {
  constructor(element) {
    this._element = element;
    this._timer = null;
  }

  show(message) {
    this._element.textContent = message;
    this._element.hidden = false;
    clearTimeout(this._timer);
    this._timer = setTimeout(() => {
      this._element.hidden = true;
    }, TOAST_MS);
  }
}

function main() {
  const link = linkFromPath(location.pathname);
  if (!link) {
    document.body.dataset.connection = "offline";
    document.getElementById("status-text").textContent = "No such board";
    return;
  }
  const board = link.id;
  const storage = localStore();
  const settings = _settings();
  const identity = new Identity(storage);
  const toast = new Toast(document.getElementById("toast"));
  if (!link.view) {
    _remember(storage, board);
  }
  document.title = link.view ? "View · whitebrd" : `${board} · whitebrd`;
  // Drawing is refused by the server through a view link or on a locked
  // board; the page hides its tools as well.
  let canDraw = !link.view;
  document.body.dataset.mode = link.view ? "view" : "edit";

  const canvas = document.getElementById("board");
  const scene = new Scene();
  const renderer = new Renderer(canvas, scene);
  const outbox = new Outbox(storage, `whitebrd.outbox.${board}`);
  const statusText = document.getElementById("status-text");
  const body = document.body;

  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const sync = new BoardSync({
    board,
    path: link.path,
    access: (mode, locked) => {
      const could = canDraw;
      canDraw = mode === "edit";
      document.body.dataset.mode = mode;
      if (could && !canDraw) {
        input.end();
        toast.show(readOnlyReason(link, locked));
      }
    },
    clientId: identity.clientId,
    scene,
    renderer,
    outbox,
    origin: `${scheme}://${location.host}`,
    notify: (message) => toast.show(message),
    changed: () => {
      const status = sync.status;
      body.dataset.connection = status;
      body.dataset.seq = String(sync.seq);
      body.dataset.pending = String(outbox.length);
      body.dataset.saving = String(sync.saving);
      let text = STATUS_TEXT[status];
      if (status === "live" && !sync.saving) {
        text = "Not saving";
      } else if (status === "offline" && outbox.length) {
        text = `Offline · ${outbox.length} unsaved`;
      }
      statusText.textContent = text;
    },
  });

  // Tools.
  const context = {
    scene,
    submit: (op) => {
      if (canDraw) {
        sync.submit(op);
      }
    },
    nextCid: () => identity.nextCid(),
    style: () => ({ color: toolbar.color, width: toolbar.width }),
    scale: () => renderer.view.scale,
  };
  const tools = { pen: new PenTool(context), eraser: new EraserTool(context) };
  let tool = tools.pen;
  const input = new PointerInput(
    canvas,
    (x, y) => renderer.toBoard(x, y),
    (event) =>
      event.pointerType === "pen" && event.button === 5 ? tools.eraser : tool,
  );
  const toolbar = new Toolbar(document, settings, storage, {
    tool: (name) => {
      input.end();
      tool.stop();
      tool = tools[name] || tools.pen;
      tool.start();
      canvas.className = tool.cursor;
    },
    clear: () => sync.submit(clearOp(identity.nextCid())),
  });
  tool = tools[toolbar.tool];
  canvas.className = tool.cursor;

  // The canvas follows the window; its backing store the pixel ratio.
  const resize = () => {
    const rect = canvas.getBoundingClientRect();
    renderer.resize(rect.width, rect.height, window.devicePixelRatio || 1);
  };
  new ResizeObserver(resize).observe(canvas);
  let ratio = window.matchMedia(`(resolution: ${window.devicePixelRatio}dppx)`);
  const ratioChanged = () => {
    resize();
    ratio.removeEventListener("change", ratioChanged);
    ratio = window.matchMedia(`(resolution: ${window.devicePixelRatio}dppx)`);
    ratio.addEventListener("change", ratioChanged);
  };
  ratio.addEventListener("change", ratioChanged);
  resize();

  // Share the board's link.
  document
    .querySelector("[data-action='copy-link']")
    ?.addEventListener("click", async () => {
      const what = link.view
        ? "whoever has it can watch this board"
        : "whoever has it can draw on this board";
      try {
        await navigator.clipboard.writeText(location.href);
        toast.show(`Link copied: ${what}.`);
      } catch {
        toast.show(location.href);
      }
    });
  setupShare({ document, link, storage, notify: (m) => toast.show(m) });

  // Keep the outbox across reloads, and reconnect when it makes sense.
  window.addEventListener("pagehide", () => outbox.flush());
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") {
      outbox.flush();
    } else {
      sync.connection.wake();
    }
  });
  window.addEventListener("online", () => sync.connection.wake());

  sync.start();
}

main();
