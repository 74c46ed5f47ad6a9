"""
Tests for L{whitebrd.admin} and the owner's API (L{whitebrd.sharing}),
served in memory through treq's StubTreq over the Klein resource.
"""

import base64
import json
from typing import Any, Optional

from treq.testing import StubTreq
from twisted.internet.testing import MemoryReactorClock
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from tests.memory_store import MemoryStore
from whitebrd.admin import Admin
from whitebrd.counters import LocalCounters
from whitebrd.frames import Op, OpFrame, dumps, parse_frame
from whitebrd.gate import Gate
from whitebrd.limits import Limits
from whitebrd.links import Links
from whitebrd.protocol import BoardFactory
from whitebrd.quotas import QuotaLimits, Quotas
from whitebrd.tap import Options, read_admin_token
from whitebrd.web import WhitebrdApp

TOKEN = "s3cret-admin-token-0123456789"
URL = "http://whitebrd.test"


class Site:
    """
    The daemon's HTTP side in memory.
    """

    def __init__(
        self, token: Optional[str] = TOKEN, quotas: Optional[QuotaLimits] = None
    ) -> None:
        self.clock = MemoryReactorClock()
        self.clock.advance(1_800_000_000)
        self.store = MemoryStore()
        counters = LocalCounters(self.clock)
        gate = Gate(
            Links(self.store, self.clock.seconds),
            Quotas(quotas or QuotaLimits(), counters, self.clock),
            self.clock,
        )
        self.factory = BoardFactory(
            self.store, Limits(), self.clock, ping_interval_seconds=0, gate=gate
        )
        admin = None
        if token is not None:
            admin = Admin(
                token, self.store, self.factory, counters, Limits(), self.clock
            )
        self.treq = StubTreq(
            WhitebrdApp(self.store, self.factory, admin=admin).resource()
        )

    def request(
        self, test: SynchronousTestCase, method: str, path: str, **kwargs: Any
    ) -> tuple[int, bytes, Any]:
        kwargs.setdefault("allow_redirects", False)
        d = self.treq.request(method, URL + path, **kwargs)
        self.treq.flush()
        response = test.successResultOf(d)
        content = response.content()
        self.treq.flush()
        return response.code, test.successResultOf(content), response.headers

    def draw(self, board: str, by: str, item: dict[str, Any]) -> None:
        frame = parse_frame(
            dumps(
                {
                    "t": "op",
                    "cid": "%s-%s" % (by, item["id"]),
                    "op": "add",
                    "item": item,
                }
            ),
            Limits(),
        )
        assert isinstance(frame, OpFrame) and isinstance(frame.ops[0], Op)
        self.store.append(board, by, frame.ops[0])


def bearer(token: str = TOKEN) -> dict[str, Any]:
    return {
        "headers": {"Authorization": "Bearer " + token, "Accept": "application/json"}
    }


def basic(user: str, token: str = TOKEN) -> dict[str, str]:
    return {
        "Authorization": "Basic "
        + base64.b64encode(("%s:%s" % (user, token)).encode()).decode()
    }


def text_item(item_id: str, text: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "kind": "text",
        "pts": [10, 10],
        "color": "#000000",
        "width": 1,
        "text": text,
        "size": 16,
    }


def line_item(item_id: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "kind": "line",
        "pts": [0, 0, 9, 9],
        "color": "#000000",
        "width": 2,
    }


class AdminAccessTests(SynchronousTestCase):
    """
    The admin pages exist only with a token, and only for its holder.
    """

    def test_no_token_no_admin(self) -> None:
        """
        Without an admin token /admin is a 404, whatever is sent.
        """
        site = Site(token=None)

        for path in ("/admin", "/admin/api/boards", "/admin/b/x"):
            self.assertEqual(site.request(self, "GET", path, **bearer())[0], 404, path)

    def test_wrong_token_is_401(self) -> None:
        """
        A missing or wrong token is 401 with a Basic challenge; the right
        one, as bearer or as the Basic password, lets in.
        """
        site = Site()

        code, _, headers = site.request(self, "GET", "/admin")
        wrong = site.request(
            self, "GET", "/admin/api/boards", **bearer("nope-" + TOKEN)
        )[0]
        wrong_basic = site.request(
            self, "GET", "/admin", headers=basic("ops", TOKEN[:-1])
        )[0]
        right = site.request(self, "GET", "/admin/api/boards", **bearer())[0]
        right_basic = site.request(self, "GET", "/admin", headers=basic("ops"))[0]

        self.assertEqual(
            (code, wrong, wrong_basic, right, right_basic), (401, 401, 401, 200, 200)
        )
        self.assertIn("Basic", headers.getRawHeaders("www-authenticate")[0])

    def test_admin_token_comes_from_a_file_or_the_environment_only(self) -> None:
        """
        The token is read from --admin-token-file or WHITEBRD_ADMIN_TOKEN,
        never the command line; both at once, an empty file or a short
        token stop the daemon with a clear message.
        """
        path = self.mktemp()
        with open(path, "w") as f:
            f.write(TOKEN + "\n")
        short = self.mktemp()
        with open(short, "w") as f:
            f.write("short\n")

        self.assertEqual(read_admin_token(path, {}), TOKEN)
        self.assertEqual(read_admin_token(None, {"WHITEBRD_ADMIN_TOKEN": TOKEN}), TOKEN)
        self.assertIsNone(read_admin_token(None, {}))
        for args, env in (
            ((path,), {"WHITEBRD_ADMIN_TOKEN": TOKEN}),
            ((short,), {}),
            ((path + "-missing",), {}),
        ):
            self.assertRaises(usage.UsageError, read_admin_token, args[0], env)
        self.assertRaises(
            usage.UsageError, Options().parseOptions, ["--admin-token", TOKEN]
        )
        options = Options()
        options.parseOptions(["--admin-token-file", path])
        self.assertEqual(options["admin-token"], TOKEN)


class AdminActionTests(SynchronousTestCase):
    """
    What the admin does: list, lock, delete, revert, with user text shown
    only as text.
    """

    def test_list_shows_boards_with_their_figures(self) -> None:
        """
        Boards are listed with items, seq, size, last activity and lock.
        """
        site = Site()
        code, body, _ = site.request(
            self, "POST", "/boards", headers={"Accept": "application/json"}
        )
        site.draw("team-retro", "alice-0001", line_item("a1"))
        site.store.touch("team-retro", 1_800_000_000.0, 0)

        boards = json.loads(
            site.request(self, "GET", "/admin/api/boards", **bearer())[1]
        )["boards"]

        self.assertEqual(code, 201)
        by_key = {b["board"]: b for b in boards}
        self.assertEqual(
            {
                k: by_key["team-retro"][k]
                for k in ("named", "items", "seq", "locked", "online")
            },
            {"named": True, "items": 1, "seq": 1, "locked": False, "online": 0},
        )
        self.assertEqual(by_key["team-retro"]["active"], 1_800_000_000.0)
        created = [b for b in boards if not b["named"]]
        self.assertEqual(len(created), 1)
        self.assertNotIn(json.loads(body)["board"], json.dumps(boards))

    def test_lock_unlock_delete_and_revert(self) -> None:
        """
        The admin locks and unlocks a board, reverts one author, deletes
        the board; each action answers JSON.
        """
        site = Site()
        for by, item_id in (
            ("alice-0001", "a1"),
            ("bobby-0001", "b1"),
            ("alice-0001", "a2"),
        ):
            site.draw("team-retro", by, line_item(item_id))

        lock = site.request(self, "POST", "/admin/b/team-retro/lock", **bearer())
        target = self.successResultOf(site.store.resolve("team-retro"))
        unlock = site.request(self, "POST", "/admin/b/team-retro/unlock", **bearer())
        revert = site.request(
            self,
            "POST",
            "/admin/b/team-retro/revert",
            data=json.dumps({"client": "alice-0001", "minutes": 60}),
            headers={
                "Authorization": "Bearer " + TOKEN,
                "Accept": "application/json",
                "Content-Type": "application/json",
            },
        )
        items = [
            i["id"] for i in self.successResultOf(site.store.load("team-retro")).items()
        ]
        delete = site.request(self, "POST", "/admin/b/team-retro/delete", **bearer())

        self.assertEqual(
            (lock[0], unlock[0], revert[0], delete[0]), (200, 200, 200, 200)
        )
        self.assertTrue(target.locked)
        self.assertEqual(json.loads(revert[1])["erased"], 2)
        self.assertEqual(items, ["b1"])
        self.assertEqual(self.successResultOf(site.store.load("team-retro")).seq, 0)

    def test_basic_auth_forms_need_the_form_field(self) -> None:
        """
        A form post authenticated by the browser's Basic credentials must
        carry the page's csrf field, so another site's page cannot make a
        logged-in browser act.
        """
        site = Site()
        site.draw("team-retro", "alice-0001", line_item("a1"))
        page = site.request(self, "GET", "/admin/b/team-retro", headers=basic("ops"))[
            1
        ].decode()
        csrf = page.split('name="csrf" value="')[1].split('"')[0]

        forged = site.request(
            self,
            "POST",
            "/admin/b/team-retro/lock",
            headers=basic("ops"),
            data={"x": "1"},
        )
        unlocked = self.successResultOf(site.store.resolve("team-retro")).locked
        real = site.request(
            self,
            "POST",
            "/admin/b/team-retro/lock",
            headers=basic("ops"),
            data={"csrf": csrf},
        )

        self.assertEqual((forged[0], unlocked), (403, False))
        self.assertEqual(real[0], 303)
        self.assertTrue(self.successResultOf(site.store.resolve("team-retro")).locked)

    def test_user_text_is_only_ever_text(self) -> None:
        """
        Texts, client ids and names on the admin pages are escaped, and the
        pages allow no script at all.
        """
        site = Site()
        payload = '<img src=x onerror="alert(1)"></script><script>alert(2)</script>'
        site.draw("team-retro", "alice-0001", text_item("t1", payload))
        site.store.touch("team-retro", 1.0, 0)

        for path in ("/admin", "/admin/b/team-retro"):
            code, body, headers = site.request(self, "GET", path, headers=basic("ops"))
            self.assertEqual(code, 200)
            self.assertNotIn(b"<img", body)
            self.assertNotIn(b"<script", body)
            csp = headers.getRawHeaders("content-security-policy")[0]
            self.assertIn("default-src 'none'", csp)
            self.assertNotIn("script-src", csp)
        self.assertIn(b"&lt;img src=x onerror=&quot;alert(1)&quot;&gt;", body)


class OwnerApiTests(SynchronousTestCase):
    """
    The owner key makes and revokes view links and rotates; nothing else
    does.
    """

    def create(self, site: Site) -> tuple[str, str]:
        code, body, headers = site.request(
            self, "POST", "/boards", headers={"Accept": "application/json"}
        )
        self.assertEqual(code, 201)
        created = json.loads(body)
        self.assertEqual(headers.getRawHeaders("location"), [created["edit"]])
        return created["board"], created["owner_key"]

    def owner(self, key: str) -> dict[str, Any]:
        return {
            "headers": {
                "Authorization": "Bearer " + key,
                "Content-Type": "application/json",
            }
        }

    def test_view_links_and_rotation(self) -> None:
        """
        With the owner key: make a view link, list it, revoke it, rotate;
        the view page and JSON work until then, and never name the edit id.
        """
        site = Site()
        edit, key = self.create(site)
        site.draw(
            self.successResultOf(site.store.resolve(edit)).board,
            "alice-0001",
            line_item("a1"),
        )

        made = site.request(
            self,
            "POST",
            "/b/%s/links" % (edit,),
            data=json.dumps({"expires_in": 3600}),
            **self.owner(key),
        )
        view = json.loads(made[1])
        listed = json.loads(
            site.request(self, "GET", "/b/%s/links" % (edit,), **self.owner(key))[1]
        )
        page = site.request(self, "GET", view["url"])
        board = site.request(self, "GET", view["url"] + ".json")
        revoked = site.request(
            self, "DELETE", "/b/%s/links/%s" % (edit, view["id"]), **self.owner(key)
        )
        after = site.request(self, "GET", view["url"])
        rotated = json.loads(
            site.request(self, "POST", "/b/%s/rotate" % (edit,), **self.owner(key))[1]
        )
        old = site.request(self, "GET", "/b/" + edit)
        new = site.request(self, "GET", rotated["edit"] + ".json")

        self.assertEqual(made[0], 201)
        self.assertEqual(view["expires"], 1_800_000_000 + 3600)
        self.assertEqual([v["id"] for v in listed["views"]], [view["id"]])
        self.assertEqual(page[0], 200)
        self.assertEqual(json.loads(board[1])["board"], view["id"])
        self.assertEqual([i["id"] for i in json.loads(board[1])["items"]], ["a1"])
        for body in (page[1], board[1]):
            self.assertNotIn(edit.encode(), body)
            self.assertNotIn(key.encode(), body)
        self.assertEqual((revoked[0], after[0], old[0], new[0]), (200, 410, 410, 200))
        self.assertIn(b"revoked", after[1])
        self.assertIn(b"replaced", old[1])
        self.assertEqual([i["id"] for i in json.loads(new[1])["items"]], ["a1"])

    def test_without_the_owner_key_nothing_changes(self) -> None:
        """
        No key or a wrong key is 403; a named board has no owner (404).
        """
        site = Site()
        edit, key = self.create(site)

        none = site.request(self, "POST", "/b/%s/links" % (edit,))
        wrong = site.request(
            self, "POST", "/b/%s/rotate" % (edit,), **self.owner(key[:-2] + "xx")
        )
        named = site.request(self, "GET", "/b/team-retro/links", **self.owner(key))

        self.assertEqual((none[0], wrong[0], named[0]), (403, 403, 404))
        self.assertEqual(site.request(self, "GET", "/b/" + edit)[0], 200)

    def test_board_creation_is_limited_per_address(self) -> None:
        """
        Past its boards per minute, an address gets 429 with Retry-After.
        """
        site = Site(quotas=QuotaLimits(boards_per_minute_per_address=3))

        codes = [site.request(self, "POST", "/boards")[0] for _ in range(5)]
        code, body, headers = site.request(self, "POST", "/boards")

        self.assertEqual(codes, [303, 303, 303, 429, 429])
        self.assertEqual(headers.getRawHeaders("retry-after"), ["60"])
        self.assertIn(b"too many new boards", body)
