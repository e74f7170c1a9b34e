"""AI inference for skyline."""
