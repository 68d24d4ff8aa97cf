"""A working plugin."""

RATE = 0.1
