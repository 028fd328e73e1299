"""m3dreid.evaluation."""
