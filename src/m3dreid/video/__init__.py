"""m3dreid.video."""
