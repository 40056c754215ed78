"""Node reference syntax: numeric-index node ids, namespace-URI node ids and browse paths."""

from __future__ import annotations

import re
from dataclasses import dataclass

from asyncua import ua

_NSU = re.compile(r"^nsu=(?P<uri>[^;]+);(?P<kind>s|i|g|b|path)=(?P<ident>.*)$", re.DOTALL)
_NS = re.compile(r"^ns=(?P<index>\d+);(?P<kind>s|i|g|b)=(?P<ident>.*)$", re.DOTALL)
_BARE = re.compile(r"^(?P<kind>s|i|g|b)=(?P<ident>.*)$", re.DOTALL)
_SEGMENT = re.compile(r"^(?:(?P<index>\d+):)?(?P<name>[^/:][^/]*)$")


@dataclass(frozen=True)
class PathElement:
    """One browse name of a path; in_namespace means "in the ref's nsu= namespace", else namespace 0."""

    name: str
    in_namespace: bool


@dataclass(frozen=True)
class NodeRef:
    """A parsed tag address; namespace URIs and paths are resolved to a NodeId on every connect."""

    text: str
    namespace_uri: str | None = None
    namespace_index: int | None = None
    identifier: str | None = None  # "s=Line1.M1.State", "i=2258" (without the namespace part)
    path: tuple[PathElement, ...] | None = None  # from the Root folder, for path= refs

    def nodeid(self, namespace_index: int) -> ua.NodeId:
        """The NodeId of an identifier ref once its namespace index is known."""
        assert self.identifier is not None
        return ua.NodeId.from_string(f"ns={namespace_index};{self.identifier}")


def parse_node_ref(text: str) -> NodeRef:
    """Parse "ns=2;s=…", "i=2258", "nsu=<uri>;s=…" or "nsu=<uri>;path=Objects/2:Line1/2:M1/2:State".

    In a path, "N:" prefixes with N > 0 all name the nsu= namespace: the number records the index seen when
    the path was written and is replaced by the index the server reports on each connect. Unprefixed or
    "0:" names (Objects, Server) are in the standard namespace. Raises ValueError with a readable reason.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("must be a non-empty node id string")
    text = text.strip()
    if match := _NSU.match(text):
        uri, kind, ident = match["uri"].strip(), match["kind"], match["ident"]
        if kind == "path":
            return NodeRef(text=text, namespace_uri=uri, path=_parse_path(ident))
        _check_identifier(kind, ident, text)
        return NodeRef(text=text, namespace_uri=uri, identifier=f"{kind}={ident}")
    if text.startswith("nsu="):
        raise ValueError(f"{text!r}: expected nsu=<namespace uri>;s=…, ;i=…, ;g=…, ;b=… or ;path=…")
    match = _NS.match(text) or _BARE.match(text)
    if match is None:
        raise ValueError(f"{text!r}: expected ns=<index>;s=…, nsu=<uri>;s=… or nsu=<uri>;path=…")
    index = int(match.groupdict().get("index") or 0)
    _check_identifier(match["kind"], match["ident"], text)
    return NodeRef(text=text, namespace_index=index, identifier=f"{match['kind']}={match['ident']}")


def _check_identifier(kind: str, ident: str, text: str) -> None:
    """Let asyncua judge i=, g= and b= identifiers so we accept exactly what it can send."""
    if not ident:
        raise ValueError(f"{text!r}: empty identifier after {kind}=")
    try:
        ua.NodeId.from_string(f"ns=0;{kind}={ident}")
    except Exception as exc:
        raise ValueError(f"{text!r}: invalid {kind}= identifier {ident!r}") from exc


def _parse_path(path: str) -> tuple[PathElement, ...]:
    """Split "Objects/2:Line1/2:M1" into elements; all non-zero indexes must agree."""
    segments = path.strip().strip("/").split("/")
    if segments == [""]:
        raise ValueError("path= needs at least one browse name, e.g. path=Objects/2:Line1/2:M1/2:State")
    elements: list[PathElement] = []
    indexes: set[int] = set()
    for segment in segments:
        match = _SEGMENT.match(segment.strip())
        if match is None:
            raise ValueError(f"path segment {segment!r}: expected Name or <index>:Name")
        index = int(match["index"] or 0)
        if index:
            indexes.add(index)
        elements.append(PathElement(name=match["name"], in_namespace=index > 0))
    if len(indexes) > 1:
        found = ", ".join(str(i) for i in sorted(indexes))
        raise ValueError(f"path mixes namespace indexes {found}; one nsu= ref covers one namespace")
    return tuple(elements)
