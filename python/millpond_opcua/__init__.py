"""OPC UA connector of millpond: the bridge that `millpond ingest opcua` starts (bridge.py)."""
