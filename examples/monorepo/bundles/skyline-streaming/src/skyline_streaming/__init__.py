"""Bundle: skyline plus streaming."""
