"""Charts, one module per page: pure functions DataFrame -> plotly Figure (no streamlit, no SQL)."""
