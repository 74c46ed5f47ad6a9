// The owner key of a board made here, and the owner's API: view links and
// rotation (docs/protocol.md, "Owner API"). DOM-free apart from the
// storage and fetch it is given.

const OWNER_PREFIX = "whitebrd.owner.";
const OWNER_KEY = /^[A-Za-z0-9_-]{20,100}$/;

/**
 * The owner key this browser keeps for an edit link, or null.
 *
 * @param {Storage|null} storage
 * @param {string} edit the edit id
 * @returns {string|null}
 */
export function ownerKeyFor(storage, edit) {
  try {
    const key = storage?.getItem(OWNER_PREFIX + edit) || null;
    return key && OWNER_KEY.test(key) ? key : null;
  } catch {
    return null;
  }
}

/**
 * Keep an owner key for an edit link (and forget it for a former one).
 *
 * @param {Storage|null} storage
 * @param {string} edit the edit id
 * @param {string} key the owner key
 * @param {string} [former] an edit id the key no longer goes with
 * @returns {boolean} whether it was kept
 */
export function keepOwnerKey(storage, edit, key, former) {
  if (!OWNER_KEY.test(key)) {
    return false;
  }
  try {
    storage?.setItem(OWNER_PREFIX + edit, key);
    if (former && former !== edit) {
      storage?.removeItem(OWNER_PREFIX + former);
    }
    return Boolean(storage);
  } catch {
    return false;
  }
}

/**
 * Make a board and keep its owner key: the landing page's "New board".
 *
 * @param {Storage|null} storage
 * @param {typeof fetch} [fetcher=fetch]
 * @returns {Promise<string>} the new board's address, /b/<edit id>
 */
export async function createBoard(storage, fetcher = fetch) {
  const answer = await fetcher("/boards", {
    method: "POST",
    headers: { Accept: "application/json" },
  });
  const body = await answer.json();
  if (answer.status !== 201) {
    throw new Error(body.message || `the server answered ${answer.status}`);
  }
  keepOwnerKey(storage, body.board, body.owner_key);
  return body.edit;
}

/**
 * The owner's API on one board.
 */
export class OwnerApi {
  /**
   * @param {string} edit the board's edit id
   * @param {string} key its owner key
   * @param {typeof fetch} [fetcher=fetch]
   */
  constructor(edit, key, fetcher) {
    this.edit = edit;
    this.key = key;
    // NB: fetch called as a method of another object throws "Illegal
    // invocation"; keep it a plain function.
    this._fetch = fetcher || ((...args) => fetch(...args));
  }

  async _call(method, path, body) {
    const headers = { Authorization: `Bearer ${this.key}` };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
    }
    const answer = await this._fetch(`/b/${this.edit}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const value = await answer.json();
    if (!answer.ok) {
      const error = new Error(
        value.message || `the server answered ${answer.status}`,
      );
      error.status = answer.status;
      throw error;
    }
    return value;
  }

  /** @returns {Promise<object[]>} the view links, {id, url, expires, expired} */
  async views() {
    return (await this._call("GET", "/links")).views;
  }

  /**
   * @param {number|null} seconds how long it lasts, or null for good
   * @returns {Promise<object>} the new view link
   */
  makeView(seconds) {
    return this._call("POST", "/links", { expires_in: seconds });
  }

  /** @param {string} id a view link's id */
  revoke(id) {
    return this._call("DELETE", `/links/${id}`);
  }

  /** @returns {Promise<string>} the new edit id */
  async rotate() {
    return (await this._call("POST", "/rotate")).board;
  }
}
