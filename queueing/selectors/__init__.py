"""Reads of the queue, one module per capability."""
