"""
Tests for L{whitebrd.svg}: a board exported as SVG is a valid document that
shows every item, and whatever people typed stays text.
"""

import xml.etree.ElementTree as ElementTree
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from whitebrd.svg import arrow_head, render_svg, smoothed_path, xml_text

SVG = "{http://www.w3.org/2000/svg}"

HOSTILE = "<script>alert('x')</script> & \"quotes\" \x00\x07\x1b \ufffe\uffff \u202eevil \U0001F600"


def every_kind() -> list[dict[str, Any]]:
    """
    One item of every kind and style the contract knows.
    """
    base = {"color": "#e03131", "width": 4}
    return [
        dict(base, id="p", kind="path", pts=[0, 0, 10, 5, 20, 0, 30, 5]),
        dict(base, id="pp", kind="path", pts=[0, 50, 10, 55, 20, 50], pressure=[0.1, 0.5, 1]),
        dict(base, id="dot", kind="path", pts=[40, 40]),
        dict(base, id="hl", kind="path", pts=[0, 70, 90, 70], opacity=0.4, width=16),
        dict(base, id="l", kind="line", pts=[0, 100, 50, 120]),
        dict(base, id="a", kind="line", pts=[0, 130, 50, 150], arrow="both"),
        dict(base, id="r", kind="rect", pts=[60, 10, 100, 40], fill="#ffec99"),
        dict(base, id="e", kind="ellipse", pts=[60, 50, 100, 90], fill=None),
        dict(base, id="t", kind="text", pts=[120, 10], text=HOSTILE + "\nsecond line", size=20),
    ]


class SVGTests(SynchronousTestCase):
    """
    The exported document parses, holds one element per item and keeps
    text as text.
    """

    def test_every_kind_is_drawn_and_the_document_parses(self) -> None:
        """
        Paths, pressure strokes, dots, lines with arrow heads, rectangles,
        ellipses and text all appear in a document an XML parser accepts,
        sized to the drawing.
        """
        svg = render_svg("team-retro", every_kind())

        root = ElementTree.fromstring(svg.encode("utf-8"))

        self.assertEqual(root.tag, SVG + "svg")
        x, y, width, height = map(float, root.get("viewBox", "").split())
        self.assertLess(x, 0)
        self.assertGreater(width, 120 + 20 * 0.6 * len("second line"))
        tags = [child.tag[len(SVG) :] for child in root]
        self.assertEqual(tags[:2], ["title", "rect"])
        self.assertEqual(tags.count("circle"), 1)
        self.assertEqual(tags.count("ellipse"), 1)
        self.assertEqual(tags.count("text"), 1)
        # The pressure stroke in a group of pieces, one per point after
        # the first, each as wide as its pressure.
        [group] = root.findall(SVG + "g")
        widths = [float(piece.get("stroke-width", 0)) for piece in group]
        self.assertEqual(widths, [4.0, 6.8])
        # The line with heads at both ends: itself and two heads.
        self.assertEqual(tags.count("path"), 2 + 1 + 2 + 1)
        [filled] = [c for c in root.findall(SVG + "rect") if c.get("fill") == "#ffec99"]
        self.assertEqual(
            [filled.get(k) for k in ("x", "y", "width", "height")], ["60", "10", "40", "30"]
        )
        [translucent] = [c for c in root.findall(SVG + "path") if c.get("opacity")]
        self.assertEqual(translucent.get("opacity"), "0.4")

    def test_text_is_escaped_and_made_valid(self) -> None:
        """
        Markup in text is shown as the characters typed, never as
        elements; characters XML cannot hold become U+FFFD, and everything
        else, right-to-left overrides and emoji included, is kept.
        """
        svg = render_svg("b", every_kind())

        root = ElementTree.fromstring(svg.encode("utf-8"))

        self.assertNotIn("<script", svg)
        self.assertEqual(root.findall(".//" + SVG + "script"), [])
        [text] = root.findall(SVG + "text")
        lines = [span.text for span in text]
        expected = (
            "<script>alert('x')</script> & \"quotes\" \ufffd\ufffd\ufffd \ufffd\ufffd"
            " \u202eevil \U0001F600"
        )
        self.assertEqual(lines, [expected, "second line"])

    def test_empty_board_is_a_small_blank_picture(self) -> None:
        """
        A board with nothing on it exports as a blank document, not an
        error.
        """
        root = ElementTree.fromstring(render_svg("empty", []).encode("utf-8"))

        self.assertEqual([child.tag for child in root], [SVG + "title", SVG + "rect"])

    def test_smoothing_matches_the_client(self) -> None:
        """
        A freehand path is the client's midpoint curve: from the first
        point, curving by each inner one, to the last.
        """
        self.assertEqual(
            smoothed_path([0, 0, 10, 10, 20, 0, 30.5, 10.25]),
            "M0 0Q10 10 15 5Q20 0 25.25 5.12L30.5 10.25",
        )

    def test_arrow_head_points_back_along_the_line(self) -> None:
        """
        An arrow head's two strokes lie behind its tip, one on each side.
        """
        x1, y1, x2, y2 = arrow_head(100, 0, 0, 0, 2) or (0, 0, 0, 0)

        self.assertLess(x1, 100)
        self.assertLess(x2, 100)
        self.assertAlmostEqual(y1, -y2)
        self.assertIsNone(arrow_head(5, 5, 5, 5, 2))

    def test_xml_text_escapes_quotes_for_attributes(self) -> None:
        """
        Escaped text is safe inside quoted attributes as well.
        """
        self.assertEqual(xml_text("a\"b'c<&>"), "a&quot;b&#39;c&lt;&amp;&gt;")
