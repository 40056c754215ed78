"""Constants shared by the OPC UA collector, config parser and simulator."""

from typing import Final

from asyncua import ua

MODES: Final = ("poll", "subscribe")
SECURITY_POLICIES: Final = (
    "Basic128Rsa15",
    "Basic256",
    "Basic256Sha256",
    "Aes128Sha256RsaOaep",
    "Aes256Sha256RsaPss",
)
SECURITY_MODES: Final = ("Sign", "SignAndEncrypt")

# Backoff between reconnect attempts. The cap stays below 5 s so that, with connect and the next poll,
# the collector is back within 5 s of the server's return.
RECONNECT_INITIAL_S: Final = 0.5
RECONNECT_MAX_S: Final = 4.0
WATCHDOG_INTERVAL_S: Final = 1.0
DISCONNECT_TIMEOUT_S: Final = 2.0
# Short, so a session orphaned by a dead connection does not hold one of a PLC's few session slots for long;
# the client's 1 s watchdog read keeps a live session from expiring.
SESSION_TIMEOUT_MS: Final = 60_000

# Used when a server does not publish an operation limit (0 means "no limit" in OPC UA).
DEFAULT_CHUNK: Final = 1000
MAX_NODES_PER_READ: Final = ua.NodeId(ua.ObjectIds.Server_ServerCapabilities_OperationLimits_MaxNodesPerRead)
MAX_MONITORED_ITEMS_PER_CALL: Final = ua.NodeId(
    ua.ObjectIds.Server_ServerCapabilities_OperationLimits_MaxMonitoredItemsPerCall
)
MAX_NODES_PER_TRANSLATE: Final = ua.NodeId(
    ua.ObjectIds.Server_ServerCapabilities_OperationLimits_MaxNodesPerTranslateBrowsePathsToNodeIds
)

STATE_CODES: Final = {1: "running", 2: "idle", 3: "down", 4: "planned_stop", 5: "setup"}
