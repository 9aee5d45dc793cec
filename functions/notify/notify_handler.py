"""notify function (being written)."""
