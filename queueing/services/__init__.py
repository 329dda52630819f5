"""Writes of the queue, one module per capability; import from the module that owns the write."""
