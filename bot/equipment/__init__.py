"""Equipment: OPC UA states and counters into intervals and deltas, and downtime alerts (andon) in chat."""
