"""
Tests for L{whitebrd.links}: what each kind of link leads to, what an
owner key allows, and that logs never show a whole link.
"""

from typing import Any

from twisted.internet.defer import Deferred
from twisted.trial.unittest import SynchronousTestCase

from tests.memory_store import MemoryStore
from whitebrd.frames import BOARD_ID
from whitebrd.links import (
    LinkRefused,
    Links,
    OwnerRefused,
    new_link_id,
    owner_digest,
    redacted_path,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class LinkTests(SynchronousTestCase):
    """
    Links lead where they should, and a link that stopped working says
    why.
    """

    def setUp(self) -> None:
        self.store = MemoryStore()
        self.clock = Clock()
        self.links = Links(self.store, self.clock)

    def create(self) -> tuple[str, str, str]:
        return self.successResultOf(Deferred.fromCoroutine(self.links.create()))

    def refused(self, d: Any) -> LinkRefused:
        failure = self.failureResultOf(d, LinkRefused)
        return failure.value  # type: ignore[no-any-return]

    def test_new_boards_have_random_ids_and_a_hidden_key(self) -> None:
        """
        A new board's edit id is 22 random URL characters; its internal
        key has a dot, so no URL can name it; its owner key is not stored.
        """
        edit, owner_key, board = self.create()
        other, _, _ = self.create()

        self.assertRegex(edit, r"^[A-Za-z0-9_-]{22}$")
        self.assertNotEqual(edit, other)
        self.assertIn(".", board)
        self.assertIsNone(BOARD_ID.fullmatch(board))
        self.assertGreaterEqual(len(owner_key), 43)
        record = self.store._records[board]
        self.assertEqual(record["owner"], owner_digest(owner_key))
        self.assertNotIn(owner_key, repr(self.store._records))

    def test_edit_and_named_links_draw_view_links_watch(self) -> None:
        """
        An edit link and a name may draw; a view link may only watch, and
        is no edit link under /b/; an edit link is no view link under /v/.
        """
        edit, _, board = self.create()
        view = self.successResultOf(
            Deferred.fromCoroutine(
                self.links.make_view(
                    self.successResultOf(self.links.open(edit, False)), None
                )
            )
        )

        by_edit = self.successResultOf(self.links.open(edit, False))
        by_name = self.successResultOf(self.links.open("team-retro", False))
        by_view = self.successResultOf(self.links.open(view.id, True))

        self.assertEqual((by_edit.board, by_edit.mode), (board, "edit"))
        self.assertEqual((by_name.board, by_name.mode), ("team-retro", "edit"))
        self.assertEqual(
            (by_view.board, by_view.mode, by_view.link), (board, "view", view.id)
        )
        self.assertEqual(self.refused(self.links.open(view.id, False)).status, 404)
        self.assertEqual(self.refused(self.links.open(edit, True)).status, 404)
        self.assertEqual(self.refused(self.links.open("team-retro", True)).status, 404)

    def test_expired_view_link_says_when_it_expired(self) -> None:
        """
        A view link past its expiry is refused with 410 and a sentence
        naming when it expired.
        """
        edit, _, _ = self.create()
        access = self.successResultOf(self.links.open(edit, False))

        view = self.successResultOf(
            Deferred.fromCoroutine(self.links.make_view(access, 60))
        )
        self.successResultOf(self.links.open(view.id, True))

        self.clock.now += 61
        refused = self.refused(self.links.open(view.id, True))

        self.assertEqual(refused.status, 410)
        self.assertIn("expired on 2027-01-15 08:01 UTC", refused.message)

    def test_replaced_and_revoked_links_say_so(self) -> None:
        """
        After rotation the old edit link says it was replaced, a revoked
        view link says it was revoked; both are 410.
        """

        edit, _, board = self.create()
        access = self.successResultOf(self.links.open(edit, False))
        kept = self.successResultOf(
            Deferred.fromCoroutine(self.links.make_view(access, None))
        )
        dropped = self.successResultOf(
            Deferred.fromCoroutine(self.links.make_view(access, None))
        )
        self.successResultOf(self.store.remove_view(board, dropped.id))

        fresh = self.successResultOf(Deferred.fromCoroutine(self.links.rotate(access)))

        replaced = self.refused(self.links.open(edit, False))
        revoked = self.refused(self.links.open(dropped.id, True))
        rotated_away = self.refused(self.links.open(kept.id, True))
        self.assertEqual(
            (replaced.status, revoked.status, rotated_away.status), (410, 410, 410)
        )
        self.assertIn("replaced", replaced.message)
        self.assertIn("revoked", revoked.message)
        self.assertEqual(
            self.successResultOf(self.links.open(fresh, False)).board, board
        )

    def test_only_the_owner_key_manages_links(self) -> None:
        """
        The owner key is checked against the stored digest; a wrong or
        missing key is 403, a named board has no owner (404).
        """
        edit, owner_key, _ = self.create()
        access = self.successResultOf(self.links.open(edit, False))
        named = self.successResultOf(self.links.open("team-retro", False))

        self.links.check_owner(access, owner_key)
        for wrong in (None, "", owner_key + "x", new_link_id()):
            with self.assertRaises(OwnerRefused) as caught:
                self.links.check_owner(access, wrong)
            self.assertEqual(caught.exception.status, 403)
        with self.assertRaises(OwnerRefused) as caught:
            self.links.check_owner(named, owner_key)
        self.assertEqual(caught.exception.status, 404)

    def test_view_link_durations_are_bounded(self) -> None:
        """
        A view link lasts from a second to a year, or for good.
        """

        edit, _, _ = self.create()
        access = self.successResultOf(self.links.open(edit, False))

        for bad in (0, -5, 367 * 86400):
            self.failureResultOf(
                Deferred.fromCoroutine(self.links.make_view(access, bad)), ValueError
            )
        year = self.successResultOf(
            Deferred.fromCoroutine(self.links.make_view(access, 366 * 86400))
        )
        self.assertEqual(year.expires, self.clock.now + 366 * 86400)


class RedactionTests(SynchronousTestCase):
    """
    Access logs never hold a whole board or view id.
    """

    def test_ids_are_cut_short(self) -> None:
        """
        Every id after /b/ or /v/ keeps four characters, whatever follows.
        """
        edit = new_link_id()

        for path in (
            b"/b/" + edit.encode(),
            b"/b/" + edit.encode() + b".json",
            b"/b/" + edit.encode() + b"/ws?client=abcdefgh",
            b"/v/" + edit.encode(),
            b"/b/" + edit.encode() + b"/links/" + edit.encode(),
        ):
            redacted = redacted_path(path)
            self.assertNotIn(edit.encode(), redacted, path)
            self.assertIn(edit[:4].encode() + b"...", redacted)
        self.assertEqual(redacted_path(b"/static/js/main.js"), b"/static/js/main.js")
        self.assertNotIn(
            edit.encode(),
            redacted_path(b"/admin/find?link=http%3A%2F%2Fx%2Fb%2F" + edit.encode()),
        )
