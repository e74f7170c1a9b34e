"""Bundle: skyline plus CUDA vision."""
