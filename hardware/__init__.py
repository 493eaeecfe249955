"""Hearth's view of the machine it runs on: board, health, devices and transcode capability.

Imports only the standard library and psutil; returns frozen dataclasses and takes paths and
callables (a filesystem root, a command runner) so every part runs against fake trees in tests.
It reports what it finds and never changes the system. Start at `hardware.report.detect_blocking`.
"""
