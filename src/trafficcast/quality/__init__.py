"""Data quality: how healthy each detector's data is (PRODUCT.md §7a)."""
