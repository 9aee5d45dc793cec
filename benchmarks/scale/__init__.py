"""The national-scale figures of `make bench`'s `scale` section, one module per figure (docs/benchmarks.md)."""
