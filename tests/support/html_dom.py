"""A small element tree from HTML (the standard library's html.parser), for the tests of the HTML report: the
page as rendered by the filter (unit tests) and the DOM Chromium dumps after rendering it (tests/browser)."""

from html.parser import HTMLParser

VOID = frozenset(["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
                  "wbr"])


class Node(object):
    def __init__(self, tag, attrs, parent=None):
        self.tag = tag
        self.attrs = dict(attrs)
        self.parent = parent
        self.children = []
        self.parts = []

    @property
    def classes(self):
        return set((self.attrs.get("class") or "").split())

    def text(self):
        """The text content, whitespace collapsed."""
        out = []
        self._collect(out)
        return " ".join("".join(out).split())

    def _collect(self, out):
        for part in self.parts:
            if isinstance(part, Node):
                part._collect(out)
            else:
                out.append(part)

    def iter(self):
        for child in self.children:
            yield child
            yield from child.iter()

    def find_all(self, tag=None, cls=None, **attrs):
        """Descendants with this tag, carrying every class in ``cls`` (space separated) and these attributes
        (``data_decision`` stands for ``data-decision``)."""
        want = set((cls or "").split())
        wanted = dict((key.replace("_", "-"), value) for key, value in attrs.items())
        return [node for node in self.iter()
                if (tag is None or node.tag == tag) and want <= node.classes
                and all(node.attrs.get(key) == value for key, value in wanted.items())]

    def find(self, tag=None, cls=None, **attrs):
        found = self.find_all(tag, cls, **attrs)
        return found[0] if found else None


class _Builder(HTMLParser):
    def __init__(self):
        HTMLParser.__init__(self, convert_charrefs=True)
        self.root = Node("#document", [])
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.current)
        self.current.children.append(node)
        self.current.parts.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        node = Node(tag, attrs, self.current)
        self.current.children.append(node)
        self.current.parts.append(node)

    def handle_endtag(self, tag):
        node = self.current
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.current = node.parent

    def handle_data(self, data):
        self.current.parts.append(data)


def parse(text):
    """The document's root node."""
    builder = _Builder()
    builder.feed(text)
    builder.close()
    return builder.root
