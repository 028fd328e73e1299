"""m3dreid.layers."""
