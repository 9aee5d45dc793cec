"""Use cases composed from ports; handlers call these and nothing else."""
