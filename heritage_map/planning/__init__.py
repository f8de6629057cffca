"""The planners' tools: spatial questions, the geometries people send, the planner page and screening report."""
