"""LobbyKey protocol v1: every byte that crosses a wire (see SPEC.md).

Pure Python on top of `cryptography`, `cwt` and `cbor2`; no I/O, no clock, no globals.
"""
