"""Reading an HTML report back as a reader would: a tree from the standard library's parser.

Not a step file of its own (behave loads it like one, harmlessly: it defines no step); the HTML
step files import it by name, as they import suite_support.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"meta", "br", "hr", "img", "input", "link", "area", "base", "col", "embed", "wbr"}
URL_ATTRIBUTES = {"src", "href", "xlink:href", "action", "formaction", "poster", "srcset", "data"}
FORBIDDEN_TAGS = {"script", "link", "img", "iframe", "object", "embed", "audio", "video", "base"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self, tag: str | None = None, cls: str | None = None):
        for child in self.children:
            if isinstance(child, Node):
                if (tag is None or child.tag == tag) and (cls is None or cls in child.classes):
                    yield child
                yield from child.iter(tag, cls)

    def find(self, tag: str | None = None, cls: str | None = None):
        return next(self.iter(tag, cls), None)

    def by_id(self, ident: str):
        return next((n for n in self.iter() if n.attrs.get("id") == ident), None)

    def title(self) -> str:
        found = next((c for c in self.children if isinstance(c, Node) and c.tag == "title"), None)
        return found.text() if found else ""


class PageParser(HTMLParser):
    """A tree of the page; ``problems`` lists every end tag that does not close the open one."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Node(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if self.stack[-1].tag != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1].tag}>")
            return
        self.stack.pop()

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse_page(text: str) -> tuple[Node, list[str]]:
    parser = PageParser()
    parser.feed(text)
    parser.close()
    problems = parser.problems + [f"<{n.tag}> never closed" for n in parser.stack[1:]]
    return parser.root, problems


def load_page(context, text: str) -> None:
    context.html_text = text
    context.page, problems = parse_page(text)
    assert not problems, problems[:10]


def page(context) -> Node:
    return context.page


def external_references(root: Node, text: str) -> list[str]:
    """Anything that would make a browser fetch something: URLs, imports, forbidden elements."""
    found = []
    for node in root.iter():
        if node.tag in FORBIDDEN_TAGS:
            found.append(f"<{node.tag}>")
        for name, value in node.attrs.items():
            lowered = value.lower()
            if name in URL_ATTRIBUTES and (
                "http:" in lowered or "https:" in lowered or "//" in value
            ):
                found.append(f"{node.tag} {name}={value!r}")
            if name in URL_ATTRIBUTES or name.startswith("on"):
                found.append(f"{node.tag} has {name}")
        if node.tag == "style" or "style" in node.attrs:
            css = node.text() if node.tag == "style" else node.attrs["style"]
            if re.search(r"url\s*\(|@import", css, re.IGNORECASE):
                found.append(f"CSS loads: {css[:80]!r}")
    if "xmlns" in text:
        found.append("a namespace URL")
    return found


def feature_table(context) -> list[str]:
    section = page(context).by_id("features")
    assert section is not None and "open" not in section.attrs, "no collapsed feature table"
    return [row.find("code").text() for row in section.find("tbody").iter("tr")]


def lane_groups(context) -> list[Node]:
    svg = page(context).find("svg", "timeline")
    assert svg is not None, "no timeline"
    return list(svg.iter("g", "lane-group"))


def lanes(group: Node) -> dict[str, Node]:
    return {lane.find("text", "lane-label").text(): lane for lane in group.iter("g", "lane")}


TITLE = re.compile(
    r"(?P<label>\S+) \u2014 (?P<status>[a-z]+) \u2014 (?P<seconds>[\d.]+) s "
    r"\(worker (?P<worker>\d+)\)"
)


def failure_blocks(context) -> dict[str, Node]:
    section = page(context).by_id("failures")
    assert section is not None, "no failures section"
    blocks = {}
    for block in section.iter("details"):
        code = block.find("summary").find("code")
        blocks[code.text()] = block
    return blocks


def failure_block(context, name: str) -> Node:
    blocks = failure_blocks(context)
    found = [block for path, block in blocks.items() if path.endswith(name)]
    assert len(found) == 1, sorted(blocks)
    return found[0]


def shown_counts(context) -> dict[str, int]:
    counts = {}
    for span in page(context).find("div", "counts").iter("span", "count"):
        number, label = span.text().split(" ", 1)
        counts[label] = int(number)
    return counts
