"""Turn NodeRefs into NodeIds on a live connection (namespace URIs and browse paths are server-specific)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from asyncua import Client, ua

from .const import DEFAULT_CHUNK
from .errors import translated
from .noderef import NodeRef

_LOGGER = logging.getLogger(__name__)


@dataclass
class Resolution:
    """NodeIds by tag key, and the status reported for tags that could not be resolved."""

    nodeids: dict[str, ua.NodeId] = field(default_factory=dict)
    unresolved: dict[str, str] = field(default_factory=dict)  # key -> status code name


async def resolve_tags(
    client: Client, refs: dict[str, NodeRef], *, translate_chunk: int = DEFAULT_CHUNK
) -> Resolution:
    """Resolve every ref; a missing namespace or path marks that tag bad instead of failing the endpoint."""
    result = Resolution()
    namespaces: list[str] = []
    if any(ref.namespace_uri for ref in refs.values()):
        with translated("read NamespaceArray"):
            namespaces = await client.get_namespace_array()
    paths: dict[str, tuple[NodeRef, int]] = {}
    for key, ref in refs.items():
        index = ref.namespace_index
        if ref.namespace_uri is not None:
            if ref.namespace_uri not in namespaces:
                _LOGGER.warning("%s: namespace %r is not on the server", ref.text, ref.namespace_uri)
                result.unresolved[key] = "BadNodeIdUnknown"
                continue
            index = namespaces.index(ref.namespace_uri)
        assert index is not None
        if ref.path is not None:
            paths[key] = (ref, index)
        else:
            result.nodeids[key] = ref.nodeid(index)
    if paths:
        await _resolve_paths(client, paths, result, max(1, translate_chunk))
    return result


async def _resolve_paths(
    client: Client, paths: dict[str, tuple[NodeRef, int]], result: Resolution, chunk: int
) -> None:
    """TranslateBrowsePathsToNodeIds from the Root folder, one request per chunk."""
    keys = list(paths)
    for start in range(0, len(keys), chunk):
        batch = keys[start : start + chunk]
        browse_paths = [_browse_path(*paths[key]) for key in batch]
        with translated("translate browse paths"):
            answers = await client.uaclient.translate_browsepaths_to_nodeids(browse_paths)
        for key, answer in zip(batch, answers, strict=True):
            if answer.StatusCode.is_good() and answer.Targets:
                target = answer.Targets[0].TargetId
                result.nodeids[key] = ua.NodeId(target.Identifier, target.NamespaceIndex, target.NodeIdType)
            else:
                status = answer.StatusCode.name if not answer.StatusCode.is_good() else "BadNoMatch"
                _LOGGER.warning("%s: browse path not found (%s)", paths[key][0].text, status)
                result.unresolved[key] = status


def _browse_path(ref: NodeRef, index: int) -> ua.BrowsePath:
    assert ref.path is not None
    elements = []
    for element in ref.path:
        step = ua.RelativePathElement()
        step.ReferenceTypeId = ua.NodeId(ua.ObjectIds.HierarchicalReferences)
        step.IncludeSubtypes = True
        step.IsInverse = False
        step.TargetName = ua.QualifiedName(element.name, index if element.in_namespace else 0)
        elements.append(step)
    browse_path = ua.BrowsePath()
    browse_path.StartingNode = ua.NodeId(ua.ObjectIds.RootFolder)
    browse_path.RelativePath = ua.RelativePath(Elements=elements)
    return browse_path
