"""HDL, the dict-based search-space language, and configs of a space as plain data."""
