"""PayOps console: server entry, navigation, queries, charts and the action guard (no provider SDK here)."""
