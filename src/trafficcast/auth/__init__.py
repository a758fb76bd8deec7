"""Users, roles, API keys and tokens (PRODUCT.md §6)."""
