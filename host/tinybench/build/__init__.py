"""Firmware builds: the offline PlatformIO setup and the board x engine x model build."""
