"""Protobuf messages wire-compatible with TensorBoard event files."""
