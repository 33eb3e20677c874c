"""Orderly: unified order management for merchants who sell on many channels."""

__version__ = "0.1.0"
