"""Home Assistant integration for skyline."""
