"""OPC UA integration: endpoint config, one batched-read collector per endpoint, a plant simulator."""

from .collector import EndpointCollector
from .config import EndpointConfig, TagRef, parse_endpoints, parse_node_ref, parse_tags
from .counters import counter_delta, map_state
from .errors import OpcUaError
from .values import ReadCycle, TagValue

__all__ = [
    "EndpointCollector",
    "EndpointConfig",
    "OpcUaError",
    "ReadCycle",
    "TagRef",
    "TagValue",
    "counter_delta",
    "map_state",
    "parse_endpoints",
    "parse_node_ref",
    "parse_tags",
]
