"""
Tests for L{whitebrd.frames}: what the daemon accepts from a client, and the
clear refusal of everything else.
"""

import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from whitebrd.frames import (
    CursorFrame,
    FrameError,
    Op,
    OpError,
    OpFrame,
    PresenceFrame,
    parse_frame,
    stored_text,
)
from whitebrd.limits import Limits

LIMITS = Limits(max_points_per_op=100, max_ops_per_frame=10, max_ids_per_erase=5)


def path_item(**changes: Any) -> dict[str, Any]:
    item = {"id": "s1", "kind": "path", "pts": [10.5, 20, 11, 21.5], "color": "#1a2b3c", "width": 2}
    item.update(changes)
    return item


def op_frame(**op: Any) -> str:
    return json.dumps(dict({"t": "op", "cid": "abcdefgh-1"}, **op))


def single_op(text: "str | bytes") -> "Op | OpError":
    frame = parse_frame(text, LIMITS)
    assert isinstance(frame, OpFrame)
    (op,) = frame.ops
    return op


class AcceptedFrameTests(SynchronousTestCase):
    """
    Frames a browser sends are accepted, and the op keeps exactly what was
    drawn.
    """

    def test_add_keeps_the_item_exactly(self) -> None:
        """
        An added path is stored with its points, colour and width as sent,
        floats included.
        """
        op = single_op(op_frame(op="add", item=path_item(opacity=0.5)))

        assert isinstance(op, Op)
        self.assertEqual(op.kind, "add")
        self.assertEqual(op.item_ids, ("s1",))
        self.assertEqual(op.points, 2)
        body = json.loads(op.body)
        self.assertEqual(body["item"], path_item(opacity=0.5))
        self.assertEqual(body["cid"], "abcdefgh-1")

    def test_stored_text_puts_seq_and_by_first(self) -> None:
        """
        Clients receive the op as sent, with its seq and sender added.
        """
        op = single_op(op_frame(op="extend", id="s1", pts=[1, 2.25]))
        assert isinstance(op, Op)

        text = stored_text(op.body, 42, "k3Jx9Qzz")

        self.assertEqual(
            json.loads(text),
            {"seq": 42, "by": "k3Jx9Qzz", "cid": "abcdefgh-1", "op": "extend", "id": "s1", "pts": [1, 2.25]},
        )
        self.assertTrue(text.startswith('{"seq":42,"by":"k3Jx9Qzz",'))

    def test_every_item_kind(self) -> None:
        """
        Lines, rectangles, ellipses (with a fill) and text are items too.
        """
        for item in [
            path_item(id="l", kind="line", pts=[0, 0, 5, 5]),
            path_item(id="r", kind="rect", pts=[0, 0, 5, 5], fill="#ffffff"),
            path_item(id="e", kind="ellipse", pts=[0, 0, 5, 5], fill=None),
            path_item(id="t", kind="text", pts=[3, 4], text="hi\nthere", size=16),
        ]:
            op = single_op(op_frame(op="add", item=item))
            assert isinstance(op, Op), op
            self.assertEqual(json.loads(op.body)["item"], item)

    def test_text_is_kept_exactly(self) -> None:
        """
        Markup, control characters, right-to-left overrides and emoji in a
        text item are text, kept as they are.
        """
        text = "<script>alert(1)</script>\u202e\u0007 caf\u00e9 \U0001F600"
        op = single_op(op_frame(op="add", item=path_item(kind="text", pts=[0, 0], text=text, size=12)))

        assert isinstance(op, Op)
        self.assertEqual(json.loads(op.body)["item"]["text"], text)

    def test_batch_answers_each_op(self) -> None:
        """
        A batch of ops is checked op by op: a bad one is refused with its
        cid, the good ones go through.
        """
        frame = parse_frame(
            json.dumps(
                {
                    "t": "ops",
                    "ops": [
                        {"cid": "c-1", "op": "erase", "ids": ["a", "b"]},
                        {"cid": "c-2", "op": "extend", "id": "a", "pts": [float("nan"), 1]},
                        {"cid": "c-3", "op": "clear"},
                    ],
                }
            ),
            LIMITS,
        )

        assert isinstance(frame, OpFrame)
        kinds = [type(op) for op in frame.ops]
        self.assertEqual(kinds, [Op, OpError, Op])
        error = frame.ops[1]
        assert isinstance(error, OpError)
        self.assertEqual(error.cid, "c-2")

    def test_cursor(self) -> None:
        """
        A cursor frame gives where the sender points.
        """
        self.assertEqual(parse_frame('{"t":"cursor","x":1.5,"y":-2}', LIMITS), CursorFrame(1.5, -2.0))

    def test_move_shifts_items(self) -> None:
        """
        A move names the items and how far they go, and concerns every
        item named once.
        """
        op = single_op(op_frame(op="move", ids=["a", "b", "a"], dx=12.5, dy=-3))

        assert isinstance(op, Op), op
        self.assertEqual((op.kind, op.item_ids), ("move", ("a", "b")))
        self.assertEqual(
            json.loads(op.body),
            {"cid": "abcdefgh-1", "op": "move", "ids": ["a", "b", "a"], "dx": 12.5, "dy": -3},
        )

    def test_update_sets_style_fields(self) -> None:
        """
        An update changes the style of one item: colour, width, opacity,
        fill (or none), text, size and arrow heads (or none).
        """
        style = {
            "color": "#abcdef",
            "width": 6,
            "opacity": 0.5,
            "fill": None,
            "text": "two\nlines",
            "size": 30,
            "arrow": None,
        }
        op = single_op(op_frame(op="update", id="t1", set=style))

        assert isinstance(op, Op), op
        self.assertEqual((op.kind, op.item_ids), ("update", ("t1",)))
        self.assertEqual(json.loads(op.body)["set"], style)

    def test_pressure_follows_the_points(self) -> None:
        """
        A pen path may carry one pressure per point, and so may each of
        its extends.
        """
        add = single_op(op_frame(op="add", item=path_item(pressure=[0.2, 1])))
        extend = single_op(op_frame(op="extend", id="s1", pts=[1, 2, 3, 4], pressure=[0, 0.5]))

        assert isinstance(add, Op) and isinstance(extend, Op)
        self.assertEqual(json.loads(add.body)["item"]["pressure"], [0.2, 1])
        self.assertEqual(json.loads(extend.body)["pressure"], [0, 0.5])

    def test_arrow_heads_on_lines_and_paths(self) -> None:
        """
        Lines and paths may end in arrow heads.
        """
        for kind, pts, arrow in (("line", [0, 0, 5, 5], "end"), ("path", [0, 0, 1, 1, 2, 0], "both")):
            op = single_op(op_frame(op="add", item=path_item(kind=kind, pts=pts, arrow=arrow)))
            assert isinstance(op, Op), op
            self.assertEqual(json.loads(op.body)["item"]["arrow"], arrow)

    def test_presence(self) -> None:
        """
        A presence frame gives the sender's name, the board area they see,
        or both.
        """
        self.assertEqual(
            parse_frame(json.dumps({"t": "presence", "name": "Ada \U0001F469\u200d\U0001F4BB"}), LIMITS),
            PresenceFrame("Ada 👩‍💻", None),
        )
        self.assertEqual(
            parse_frame('{"t":"presence","view":[-10,0,800.5,600]}', LIMITS),
            PresenceFrame(None, (-10.0, 0.0, 800.5, 600.0)),
        )


class RefusedFrameTests(SynchronousTestCase):
    """
    Everything outside the contract is refused with a code and a message
    that names the problem, and the op's cid where it had one.
    """

    def assertRefused(self, text: "str | bytes", code: str, words: str, cid: "str | None" = None) -> None:
        try:
            op = single_op(text)
        except FrameError as e:
            error: FrameError = e
        else:
            assert isinstance(op, OpError), "accepted: %r" % (op,)
            error = op
        self.assertEqual(error.code, code, error.message)
        self.assertIn(words, error.message)
        self.assertEqual(error.cid, cid)
        self.assertEqual(error.frame()["t"], "error")

    def test_not_json(self) -> None:
        """
        Text that is not JSON is refused as such.
        """
        self.assertRefused("{nope", "bad_json", "not JSON")

    def test_deep_nesting(self) -> None:
        """
        A frame nested thousands deep is refused, not a crash.
        """
        self.assertRefused("[" * 100_000 + "]" * 100_000, "bad_json", "nested")

    def test_not_an_object(self) -> None:
        """
        A frame must be an object.
        """
        self.assertRefused("[1, 2]", "bad_frame", "a list")

    def test_missing_and_unknown_type(self) -> None:
        """
        A frame without C{t}, or with one the contract does not name, is
        refused.
        """
        self.assertRefused("{}", "bad_frame", "field t")
        self.assertRefused('{"t":"launch"}', "bad_frame", "launch")

    def test_op_and_kind_of_the_wrong_type(self) -> None:
        """
        An op or item kind that is a list, an object or a number is refused
        like any unknown one, not a crash (a fuzzer found this).
        """
        for value in ([], ["add"], {}, 3, None):
            self.assertRefused(op_frame(op=value), "bad_op", "op must be", "abcdefgh-1")
            self.assertRefused(
                op_frame(op="add", item=path_item(kind=value)), "bad_item", "item.kind", "abcdefgh-1"
            )

    def test_unknown_op(self) -> None:
        """
        An op the contract does not name is refused with its cid.
        """
        self.assertRefused(op_frame(op="paint"), "bad_op", "paint", "abcdefgh-1")

    def test_nan_coordinate(self) -> None:
        """
        A NaN coordinate is refused with the op's cid, naming the field.
        """
        text = op_frame(op="add", item=path_item(pts=[1, 2, 3, 4])).replace("3, 4", "NaN, 4")
        self.assertRefused(text, "bad_item", "item.pts[2]", "abcdefgh-1")

    def test_infinities(self) -> None:
        """
        Infinity and 1e400 are not numbers a board holds.
        """
        for literal, shown in (("Infinity", "Infinity"), ("-Infinity", "-Infinity"), ("1e400", "Infinity")):
            text = op_frame(op="extend", id="s1", pts=[0, 0]).replace("[0, 0]", "[0, %s]" % literal)
            self.assertRefused(text, "bad_item", "pts[1]", "abcdefgh-1")
            self.assertRefused(text, "bad_item", "got " + shown, "abcdefgh-1")

    def test_number_with_thousands_of_digits(self) -> None:
        """
        An integer too long for Python to read is refused plainly.
        """
        self.assertRefused(op_frame(op="clear").replace("}", ', "x": %s}' % ("9" * 5000)), "bad_json", "too many digits")

    def test_out_of_range(self) -> None:
        """
        Coordinates past a million, and huge integers, are refused.
        """
        self.assertRefused(op_frame(op="extend", id="s1", pts=[0, 1_000_001]), "bad_item", "pts[1]", "abcdefgh-1")
        self.assertRefused(op_frame(op="extend", id="s1", pts=[0, 10**300]), "bad_item", "pts[1]", "abcdefgh-1")

    def test_booleans_are_not_numbers(self) -> None:
        """
        C{true} is not a coordinate, though Python counts it as one.
        """
        self.assertRefused(op_frame(op="extend", id="s1", pts=[True, 1]), "bad_item", "pts[0]", "abcdefgh-1")

    def test_too_many_points(self) -> None:
        """
        An op with more points than the limit is refused, naming the limit.
        """
        self.assertRefused(op_frame(op="extend", id="s1", pts=[1] * 202), "too_many_points", "100", "abcdefgh-1")

    def test_item_fields(self) -> None:
        """
        Unknown fields, wrong colours, widths and point counts are refused.
        """
        cid = "abcdefgh-1"
        self.assertRefused(op_frame(op="add", item=path_item(secret="x")), "bad_item", "secret", cid)
        self.assertRefused(op_frame(op="add", item=path_item(color="red")), "bad_item", "item.color", cid)
        self.assertRefused(op_frame(op="add", item=path_item(width=0)), "bad_item", "item.width", cid)
        self.assertRefused(op_frame(op="add", item=path_item(opacity=2)), "bad_item", "item.opacity", cid)
        self.assertRefused(op_frame(op="add", item=path_item(kind="rect", pts=[0, 0, 1, 1, 2, 2])), "bad_item", "exactly 2 points", cid)
        self.assertRefused(op_frame(op="add", item=path_item(pts=[1, 2, 3])), "bad_item", "pairs", cid)
        self.assertRefused(op_frame(op="add", item=path_item(text="x")), "bad_item", "text", cid)

    def test_bad_ids(self) -> None:
        """
        Item ids outside C{[A-Za-z0-9_-]{1,40}} are refused.
        """
        for bad in ["", "a" * 41, "../x", "a b", "\u00e9", 5]:
            self.assertRefused(op_frame(op="extend", id=bad, pts=[0, 0]), "bad_id", "id", "abcdefgh-1")

    def test_bad_cid(self) -> None:
        """
        An op without a usable cid is refused without one.
        """
        self.assertRefused(json.dumps({"t": "op", "op": "clear"}), "bad_op", "cid")
        self.assertRefused(json.dumps({"t": "op", "cid": "x" * 81, "op": "clear"}), "bad_op", "cid")

    def test_huge_text(self) -> None:
        """
        Text past the limit is refused, naming the limit.
        """
        item = path_item(kind="text", pts=[0, 0], text="x" * 2001, size=10)
        self.assertRefused(op_frame(op="add", item=item), "bad_item", "2000", "abcdefgh-1")

    def test_lone_surrogate(self) -> None:
        """
        A lone surrogate cannot be stored as UTF-8, so it is refused.
        """
        text = op_frame(op="add", item=path_item(kind="text", pts=[0, 0], text="X", size=10))
        self.assertRefused(text.replace('"X"', '"\\ud800"'), "bad_item", "surrogate", "abcdefgh-1")

    def test_invalid_utf8_bytes(self) -> None:
        """
        Bytes that are not UTF-8 are refused.
        """
        self.assertRefused(b'{"t":"op","cid":"\xff"}', "bad_json", "not UTF-8")

    def test_bad_moves(self) -> None:
        """
        A move needs ids and finite shifts within the board's span.
        """
        cid = "abcdefgh-1"
        self.assertRefused(op_frame(op="move", ids=[], dx=1, dy=1), "bad_op", "ids", cid)
        self.assertRefused(op_frame(op="move", ids=["a"], dx=1), "bad_op", "dy", cid)
        self.assertRefused(op_frame(op="move", ids=["a"], dx=3e6, dy=0), "bad_op", "dx", cid)
        self.assertRefused(op_frame(op="move", ids=["a"] * 6, dx=1, dy=1), "bad_op", "at most 5", cid)
        self.assertRefused(op_frame(op="move", ids=["a b"], dx=1, dy=1), "bad_id", "ids[0]", cid)
        self.assertRefused(
            '{"t":"op","cid":"c-1","op":"move","ids":["a"],"dx":NaN,"dy":0}', "bad_op", "dx", "c-1"
        )

    def test_bad_updates(self) -> None:
        """
        An update sets known style fields to valid values, and no points.
        """
        cid = "abcdefgh-1"
        self.assertRefused(op_frame(op="update", id="a", set={}), "bad_op", "set", cid)
        self.assertRefused(op_frame(op="update", id="a", set={"pts": [1, 2]}), "bad_item", "pts", cid)
        self.assertRefused(op_frame(op="update", id="a", set={"color": "red"}), "bad_item", "set.color", cid)
        self.assertRefused(op_frame(op="update", id="a", set={"width": 0}), "bad_item", "set.width", cid)
        self.assertRefused(op_frame(op="update", id="a", set={"text": 5}), "bad_item", "set.text", cid)
        self.assertRefused(op_frame(op="update", id="a", set={"arrow": "up"}), "bad_item", "set.arrow", cid)
        self.assertRefused(op_frame(op="update", set={"width": 2}), "bad_id", "id", cid)

    def test_bad_pressure_and_arrows(self) -> None:
        """
        Pressures are one number from 0 to 1 per point, on paths only;
        arrow heads are start, end or both, on lines and paths only.
        """
        cid = "abcdefgh-1"
        self.assertRefused(op_frame(op="add", item=path_item(pressure=[0.5])), "bad_item", "one number per point", cid)
        self.assertRefused(op_frame(op="add", item=path_item(pressure=[0.5, 1.5])), "bad_item", "pressure[1]", cid)
        self.assertRefused(op_frame(op="extend", id="s1", pts=[1, 2], pressure=[]), "bad_item", "pressure", cid)
        self.assertRefused(
            op_frame(op="add", item=path_item(kind="line", pts=[0, 0, 1, 1], pressure=[0, 0])),
            "bad_item",
            "pressure",
            cid,
        )
        self.assertRefused(
            op_frame(op="add", item=path_item(kind="rect", pts=[0, 0, 1, 1], arrow="end")),
            "bad_item",
            "arrow",
            cid,
        )
        self.assertRefused(op_frame(op="add", item=path_item(arrow=True)), "bad_item", "item.arrow", cid)

    def test_bad_presence(self) -> None:
        """
        A name is short text without control characters; a view is four
        coordinates in order.
        """
        self.assertRefused('{"t":"presence"}', "bad_frame", "a name or a view")
        self.assertRefused('{"t":"presence","name":""}', "bad_frame", "name")
        self.assertRefused('{"t":"presence","name":"   "}', "bad_frame", "name")
        self.assertRefused(json.dumps({"t": "presence", "name": "x" * 41}), "bad_frame", "name")
        self.assertRefused(json.dumps({"t": "presence", "name": "a\u0000b"}), "bad_frame", "control")
        self.assertRefused('{"t":"presence","view":[0,0,10]}', "bad_frame", "view")
        self.assertRefused('{"t":"presence","view":[10,0,0,10]}', "bad_frame", "view")
        self.assertRefused('{"t":"presence","view":[0,0,1e7,10]}', "bad_frame", "view")
        self.assertRefused('{"t":"presence","name":"a","colour":"red"}', "bad_frame", "colour")

    def test_too_many_ops(self) -> None:
        """
        A batch past the limit is refused as a whole.
        """
        ops = [{"cid": "c-%d" % n, "op": "clear"} for n in range(11)]
        with self.assertRaises(FrameError) as caught:
            parse_frame(json.dumps({"t": "ops", "ops": ops}), LIMITS)
        self.assertEqual(caught.exception.code, "too_many_ops")


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
_fields = st.sampled_from(
    ["t", "op", "cid", "item", "id", "pts", "ids", "x", "y", "dx", "dy", "set", "name", "view"]
)


class ValidatorPropertyTests(SynchronousTestCase):
    """
    Whatever arrives, the validator answers with a value or a clear refusal,
    and what it accepts is within the contract.
    """

    @settings(max_examples=300, deadline=None)
    @given(st.dictionaries(_fields, _json_values
            | st.sampled_from(
                ["op", "ops", "add", "extend", "erase", "clear", "move", "update", "cursor", "presence"]
            ), max_size=6))
    def test_any_object_is_answered(self, frame: dict[str, Any]) -> None:
        """
        Any JSON object gives an accepted frame or a FrameError, never
        another exception.
        """
        try:
            result = parse_frame(json.dumps(frame), LIMITS)
        except FrameError as e:
            self.assertTrue(e.code and e.message)
            return
        self.assertIsInstance(result, (OpFrame, CursorFrame, PresenceFrame))

    @settings(max_examples=300, deadline=None)
    @given(
        st.lists(
            st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(10**7), 10**7),
            min_size=1,
            max_size=20,
        )
    )
    def test_accepted_points_are_finite_and_in_range(self, pts: list[float]) -> None:
        """
        An accepted path holds only finite coordinates within a million;
        anything else is refused with the op's cid.
        """
        text = json.dumps({"t": "op", "cid": "c-1", "op": "add", "item": path_item(pts=pts)})

        op = single_op(text)

        valid = len(pts) % 2 == 0 and all(math.isfinite(v) and abs(v) <= 1e6 for v in pts)
        if valid:
            assert isinstance(op, Op)
            self.assertEqual(json.loads(op.body)["item"]["pts"], pts)
        else:
            assert isinstance(op, OpError)
            self.assertEqual(op.cid, "c-1")

    @settings(max_examples=200, deadline=None)
    @given(st.text(max_size=50))
    def test_any_text_round_trips(self, text: str) -> None:
        """
        Any text a person can type (no lone surrogates) is kept exactly.
        """
        item = path_item(kind="text", pts=[0, 0], text=text, size=10)
        op = single_op(json.dumps({"t": "op", "cid": "c-1", "op": "add", "item": item}))

        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            self.assertIsInstance(op, OpError)
            return
        assert isinstance(op, Op)
        self.assertEqual(json.loads(op.body)["item"]["text"], text)

    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=200) | st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")))
    def test_any_bytes_are_answered(self, data: bytes) -> None:
        """
        Whatever bytes arrive in a text frame, the validator answers with a
        frame or a FrameError, never another exception.
        """
        try:
            result = parse_frame(data, LIMITS)
        except FrameError as e:
            self.assertTrue(e.code and e.message)
            return
        self.assertIsInstance(result, (OpFrame, CursorFrame))

    @settings(max_examples=300, deadline=None)
    @given(
        st.fixed_dictionaries(
            {
                "t": st.just("op"),
                "cid": st.text("abc-:.", min_size=1, max_size=10),
                "op": st.sampled_from(["add", "extend", "erase", "clear", "paint", [], {}]),
            },
            optional={
                "item": _json_values
                | st.fixed_dictionaries(
                    {
                        "id": st.text("xyz_-", min_size=1, max_size=5) | _json_values,
                        "kind": st.sampled_from(["path", "line", "rect", "ellipse", "text", "blob"]) | _json_values,
                        "pts": st.lists(st.floats() | st.integers(), max_size=6) | _json_values,
                        "color": st.sampled_from(["#000000", "#abcdef", "red"]) | _json_values,
                        "width": st.floats() | st.integers(-5, 300) | _json_values,
                    },
                    optional={"text": st.text(max_size=20) | _json_values, "size": st.floats() | _json_values},
                ),
                "id": st.text("xyz_-", min_size=1, max_size=5) | _json_values,
                "ids": st.lists(st.text("xyz_-", max_size=5), max_size=4) | _json_values,
                "pts": st.lists(st.floats() | st.integers(), max_size=6) | _json_values,
            },
        )
    )
    def test_accepted_ops_are_canonical(self, frame: dict[str, Any]) -> None:
        """
        Ops close to valid ones are either refused with their cid, or
        accepted as a canonical body that is accepted again unchanged: what
        a store keeps is itself within the contract.
        """
        op = single_op(json.dumps(frame))

        if isinstance(op, OpError):
            self.assertEqual(op.cid, frame["cid"])
            return
        again = single_op(op.body[:1] + '"t":"op",' + op.body[1:])
        assert isinstance(again, Op)
        self.assertEqual(again.body, op.body)
        self.assertEqual(json.loads(op.body)["cid"], frame["cid"])
