// The board page: reads the board id from the address, builds the scene,
// renderer, connection, tools and panels, and wires them to the page.

import { linkFromPath, readOnlyReason } from "./access.js";
import {
  boardJson,
  boardPng,
  download,
  viewPng,
} from "./exporter.js";
import { shiftPoints, unionBoxes } from "./geometry.js";
import { boardAt } from "./history.js";
import { Identity, localStore, newItemId } from "./identity.js";
import { describeImport, importText } from "./importer.js";
import { PointerInput } from "./input.js";
import { bindShortcuts } from "./keys.js";
import { Outbox } from "./outbox.js";
import { Overlay } from "./overlay.js";
import { PresenceView } from "./presence.js";
import { addOp, clearOp } from "./protocol.js";
import { Renderer } from "./render.js";
import { Replay } from "./replay.js";
import { Scene, copyItem } from "./scene.js";
import { setupShare } from "./share.js";
import { BoardSync } from "./sync.js";
import { TextEditor } from "./texteditor.js";
import { Toolbar } from "./toolbar.js";
import { EraserTool } from "./tools/eraser.js";
import { HandTool } from "./tools/hand.js";
import { PenTool } from "./tools/pen.js";
import { SelectTool } from "./tools/select.js";
import { ShapeTool } from "./tools/shape.js";
import { TextTool, editTextItem } from "./tools/text.js";
import { UndoHistory } from "./undo.js";
import { Camera } from "./view.js";

const RECENT_KEY = "whitebrd.recent";
const THEME_KEY = "whitebrd.dark";
const CLIPBOARD_KEY = "whitebrd.clipboard";
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

function _action(name, handler) {
  for (const element of document.querySelectorAll(`[data-action='${name}']`)) {
    element.addEventListener("click", (event) => {
      document.getElementById("menu")?.hidePopover?.();
      handler(event);
    });
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
  const notify = (message) => toast.show(message);
  document.body.dataset.client = identity.clientId;
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
  const overlay = new Overlay(document.getElementById("overlay"));
  const camera = new Camera(storage, `whitebrd.view.${board}`);
  const outbox = new Outbox(
    storage,
    `whitebrd.outbox.${board}`,
    Date.now,
    identity.pageId,
  );
  const history = new UndoHistory(storage, `whitebrd.undo.${board}`);
  const statusText = document.getElementById("status-text");
  const body = document.body;
  let replaying = false;

  // The live board's drawing goes to the canvas unless a replay shows.
  const live = {
    show: (change) => replaying || renderer.show(change),
    redraw: () => replaying || renderer.redraw(),
    paintLoaded: () => replaying || renderer.paintLoaded(),
    repaintSoon: (items, boxes) => replaying || renderer.repaintSoon(items, boxes),
    requestRedraw: () => replaying || renderer.requestRedraw(),
  };

  let presence = null;
  // The seq whose whole board is on the canvas, for whoever waits for a
  // big board to be painted (benchmarks, tests).
  const painted = () => {
    body.dataset.painted = String(sync.seq);
  };

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
    renderer: live,
    outbox,
    origin: `${scheme}://${location.host}`,
    notify,
    presence: (frame) => presence?.receive(frame),
    opened: () => presence?.opened(),
    confirmed: (op) => {
      if (op.op === "clear") {
        history.stored(op.cid, op.seq);
      }
    },
    changed: () => {
      const status = sync.status;
      body.dataset.connection = status;
      body.dataset.seq = String(sync.seq);
      body.dataset.pending = String(outbox.length);
      body.dataset.saving = String(sync.saving);
      body.dataset.items = String(scene.items.length);
      let text = STATUS_TEXT[status];
      if (status === "live" && !sync.saving) {
        text = "Not saving";
      } else if (status === "live" && outbox.length) {
        text = "Saving…";
      } else if (status === "offline" && outbox.length) {
        text = `Offline · ${outbox.length} unsaved`;
      }
      statusText.textContent = text;
      if (!renderer.busy) {
        painted();
      }
    },
  });

  presence = new PresenceView({
    document,
    storage,
    clientId: identity.clientId,
    camera,
    send: (text) => sync.sendNow(text),
    notify,
  });
  renderer.onPainted = painted;

  // Tools.
  const textEditor = new TextEditor(
    document.getElementById("text-layer"),
    () => camera.view,
    () => renderer.dark,
  );
  const context = {
    scene,
    submit: (op, options) => {
      if (canDraw) {
        sync.submit(op, options);
      }
    },
    nextCid: () => identity.nextCid(),
    style: () => toolbar.style(),
    scale: () => camera.view.scale,
    record: (action) => history.record(action),
    repaint: (items, boxes) => renderer.repaintSoon(items, boxes),
    overlay,
    editText: (options) => textEditor.open(options),
  };
  const select = new SelectTool(context, () => overlay.request());
  const tools = {
    select,
    hand: new HandTool(),
    pen: new PenTool(context),
    highlighter: new PenTool(context, { highlighter: true }),
    eraser: new EraserTool(context),
    line: new ShapeTool(context, "line"),
    arrow: new ShapeTool(context, "line", { arrow: true }),
    rect: new ShapeTool(context, "rect"),
    ellipse: new ShapeTool(context, "ellipse"),
    text: new TextTool(context),
  };
  let tool = tools.pen;
  overlay.add((ctx, scale) => {
    if (!replaying) {
      select.paintOverlay(ctx, scale);
      if (tool !== select) {
        tool.paintOverlay?.(ctx, scale);
      }
    }
  });
  const input = new PointerInput(canvas, {
    toBoard: (x, y) => renderer.toBoard(x, y),
    pick: (event) => {
      textEditor.close();
      if (replaying || !canDraw) {
        // Watching: dragging pans, and nothing is drawn.
        return tools.hand;
      }
      return event.pointerType === "pen" && event.button === 5
        ? tools.eraser
        : tool;
    },
    camera,
    hover: (point) => presence.pointed(point),
  });
  const toolbar = new Toolbar(document, settings, storage, {
    tool: (name) => {
      input.end();
      tool.stop();
      tool = tools[name] || tools.pen;
      tool.start();
      canvas.className = tool.cursor;
      overlay.request();
    },
    restyle: (set) => tool === select && select.restyle(set),
    clear: () => {
      const op = clearOp(identity.nextCid());
      history.record({ kind: "clear", cid: op.cid });
      select.clear();
      sync.submit(op);
    },
  });
  tool = tools[toolbar.tool];
  canvas.className = tool.cursor;

  // Double-click text to edit it.
  canvas.addEventListener("dblclick", (event) => {
    if (replaying || !(tool === select || tool === tools.text)) {
      return;
    }
    const rect = canvas.getBoundingClientRect();
    const point = renderer.toBoard(event.clientX - rect.left, event.clientY - rect.top);
    const hit = scene.topAt(point.x, point.y, 6 / camera.view.scale);
    if (hit && hit.kind === "text" && tool === select) {
      editTextItem(context, hit);
    }
  });

  // The view: pan and zoom move the board, the cursors and the text field.
  const zoomLevel = document.getElementById("zoom-level");
  const showZoom = () => {
    const { x, y, scale } = camera.view;
    zoomLevel.textContent = `${Math.round(scale * 100)} %`;
    // What the view is, for tests and the curious.
    body.dataset.view = `${x} ${y} ${scale}`;
  };
  camera.listen((view) => {
    renderer.setView(view);
    overlay.setView(view);
    textEditor.follow();
    showZoom();
  });
  renderer.view = { ...camera.view };
  overlay.view = { ...camera.view };
  showZoom();
  const currentScene = () => (replaying ? replay.scene : scene);
  const fit = () => {
    const target = currentScene();
    camera.fit(unionBoxes(target.items.map((item) => target.bounds(item))), "fit", 2);
  };
  _action("zoom-in", () => camera.zoomBy(1.25));
  _action("zoom-out", () => camera.zoomBy(0.8));
  _action("zoom-reset", () => camera.reset());
  _action("zoom-fit", fit);

  // The canvas follows the window; its backing store the pixel ratio.
  const resize = () => {
    const rect = canvas.getBoundingClientRect();
    camera.width = rect.width;
    camera.height = rect.height;
    const dpr = window.devicePixelRatio || 1;
    renderer.resize(rect.width, rect.height, dpr);
    overlay.resize(rect.width, rect.height, dpr);
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

  // Undo and redo.
  const undoContext = {
    scene,
    nextCid: () => identity.nextCid(),
    boardAt: (seq) => boardAt(link.path, seq),
  };
  let undoing = Promise.resolve();
  const step = (direction) => {
    textEditor.close();
    if (!canDraw) {
      return;
    }
    undoing = undoing.then(async () => {
      try {
        const ops = await history[direction](undoContext);
        for (const op of ops) {
          sync.submit(op);
        }
        overlay.request();
      } catch (error) {
        notify(error.message);
      }
    });
  };
  const undoButton = document.querySelector("[data-action='undo']");
  const redoButton = document.querySelector("[data-action='redo']");
  const showHistory = () => {
    undoButton.disabled = !history.canUndo;
    redoButton.disabled = !history.canRedo;
  };
  history.listen(showHistory);
  showHistory();
  _action("undo", () => step("undo"));
  _action("redo", () => step("redo"));

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

  // Replay.
  const replay = new Replay({
    document,
    board: link.path,
    renderer,
    live: () => scene,
    notify,
    changed: (on) => {
      replaying = on;
      input.end();
      select.clear();
      overlay.request();
    },
  });
  _action("replay", () => replay.start());

  // Dark board.
  const setDark = (dark) => {
    body.dataset.theme = dark ? "dark" : "light";
    renderer.setDark(dark);
    document
      .querySelector("[data-action='dark']")
      ?.setAttribute("aria-checked", String(dark));
    try {
      storage?.setItem(THEME_KEY, dark ? "1" : "0");
    } catch {
      // The choice lasts as long as the page.
    }
  };
  let savedDark = null;
  try {
    savedDark = storage?.getItem(THEME_KEY);
  } catch {
    savedDark = null;
  }
  setDark(
    savedDark === null
      ? window.matchMedia("(prefers-color-scheme: dark)").matches
      : savedDark === "1",
  );
  _action("dark", () => setDark(!renderer.dark));

  // Export.
  _action("export-view", async () => {
    download(document, await viewPng(canvas), `${board}-view.png`);
  });
  _action("export-png", async () => {
    const png = await boardPng(document, currentScene());
    if (png) {
      download(document, png, `${board}.png`);
    } else {
      notify("The board is empty: there is nothing to export yet.");
    }
  });
  _action("export-svg", () =>
    download(document, `${link.path}.svg`, `${board}.svg`),
  );
  _action("export-json", () =>
    download(document, boardJson(board, sync.seq, scene), `${board}.json`),
  );

  // Import: a file chosen or dropped becomes items, placed in the middle
  // of the view, one action to undo.
  const importFile = async (file) => {
    let imported;
    try {
      imported = importText(await file.text(), newItemId);
    } catch (error) {
      notify(`${file.name}: ${error.message}`);
      return;
    }
    if (!imported.items.length) {
      notify(`${file.name}: ${describeImport(imported)}`);
      return;
    }
    const box = unionBoxes(imported.items.map((item) => scene.bounds(item)));
    const visible = camera.visible();
    const dx = Math.round((visible.minX + visible.maxX) / 2 - (box.minX + box.maxX) / 2);
    const dy = Math.round((visible.minY + visible.maxY) / 2 - (box.minY + box.maxY) / 2);
    const items = imported.items.map((item) => ({
      ...item,
      pts: shiftPoints(item.pts, dx, dy),
    }));
    for (const item of items) {
      sync.submit(addOp(identity.nextCid(), item));
    }
    history.record({ kind: "add", items });
    const placed = { minX: box.minX + dx, minY: box.minY + dy, maxX: box.maxX + dx, maxY: box.maxY + dy };
    camera.fit(placed, "fit", camera.view.scale);
    notify(describeImport(imported));
  };
  const fileInput = document.getElementById("import-file");
  _action("import", () => fileInput.click());
  fileInput.addEventListener("change", () => {
    const [file] = fileInput.files;
    fileInput.value = "";
    if (file) {
      importFile(file);
    }
  });
  const dropHint = document.getElementById("drop-hint");
  document.addEventListener("dragover", (event) => {
    if (event.dataTransfer?.types.includes("Files")) {
      event.preventDefault();
      dropHint.hidden = false;
    }
  });
  document.addEventListener("dragleave", (event) => {
    if (!event.relatedTarget) {
      dropHint.hidden = true;
    }
  });
  document.addEventListener("drop", (event) => {
    event.preventDefault();
    dropHint.hidden = true;
    const [file] = event.dataTransfer?.files || [];
    if (file) {
      importFile(file);
    }
  });

  // Sharing, names, help.
  const nameDialog = document.getElementById("name-dialog");
  const nameField = document.getElementById("name-field");
  document.getElementById("people").addEventListener("click", (event) => {
    if (event.target.closest("[data-action='rename']")) {
      nameField.value = presence.name;
      nameDialog.showModal();
      nameField.select();
    }
  });
  nameDialog.addEventListener("close", () => {
    if (nameDialog.returnValue === "save" && !presence.rename(nameField.value)) {
      notify("A name needs at least one letter or sign.");
    }
  });
  const help = document.getElementById("help-dialog");
  _action("help", () => help.showModal());

  // Keyboard.
  const clipboard = {
    copy() {
      try {
        storage?.setItem(CLIPBOARD_KEY, JSON.stringify(select.items().map(copyItem)));
        notify("Copied.");
      } catch {
        notify("Could not copy: the browser's storage is full or off.");
      }
    },
    paste() {
      let items = [];
      try {
        items = JSON.parse(storage?.getItem(CLIPBOARD_KEY) || "[]");
      } catch {
        items = [];
      }
      if (Array.isArray(items) && items.length) {
        toolbar.pick("select");
        select.duplicate(items);
      }
    },
  };
  bindShortcuts(document, {
    tool: (key) => !replaying && toolbar.key(key),
    undo: () => step("undo"),
    redo: () => step("redo"),
    remove: () => tool === select && select.remove(),
    duplicate: () => tool === select && select.duplicate(),
    selectAll: () => {
      toolbar.pick("select");
      select.selectAll();
    },
    copy: () => clipboard.copy(),
    paste: () => clipboard.paste(),
    nudge: (dx, dy) => {
      const scale = camera.view.scale;
      select.nudge(Math.round((dx / scale) * 100) / 100, Math.round((dy / scale) * 100) / 100);
    },
    hasSelection: () => tool === select && select.selected.size > 0,
    escape: () => {
      if (replaying) {
        replay.close();
      } else if (presence.following) {
        presence.follow(null);
      } else if (select.selected.size) {
        select.clear();
      } else {
        return false;
      }
      return true;
    },
    zoom: (factor) => camera.zoomBy(factor),
    zoomReset: () => camera.reset(),
    zoomFit: fit,
    help: () => help.showModal(),
  });

  // Keep the outbox and undo across reloads, and reconnect when it makes
  // sense. The outbox left behind is taken up by the next page.
  window.addEventListener("pagehide", () => {
    outbox.leave();
    history.flush();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") {
      outbox.flush();
      history.flush();
    } else {
      sync.connection.wake();
    }
  });
  window.addEventListener("online", () => sync.connection.wake());

  sync.start();
}

main();
