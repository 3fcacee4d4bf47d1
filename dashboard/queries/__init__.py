"""All of PayOps's read SQL, one module per page: pure functions (store, filters...) -> DataFrame, bound parameters."""
