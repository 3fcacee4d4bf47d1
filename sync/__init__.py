"""PayOps sync: providers, normaliser, store, runner and CLI. Never imports streamlit."""
