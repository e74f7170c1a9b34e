"""Bundle: skyline plus vision."""
