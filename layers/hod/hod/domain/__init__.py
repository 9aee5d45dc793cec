"""Pure domain logic: no I/O, no clock reads, no AWS SDK."""
