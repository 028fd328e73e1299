"""Training engine: one loop for every model, losses, optimizers, checkpoints that resume exactly, seeding."""

from m3dreid.engine.checkpoint import LAST_NAME, PREV_NAME, CheckpointError, load_training_state, save_training_state
from m3dreid.engine.losses import ReIDLoss, batch_hard_triplet_loss, build_loss
from m3dreid.engine.optim import build_optimizer, build_scheduler
from m3dreid.engine.seeding import capture_rng_state, epoch_seed, restore_rng_state, seed_everything
from m3dreid.engine.trainer import Trainer, TrainResult, resolve_device

__all__ = [
    "LAST_NAME",
    "PREV_NAME",
    "CheckpointError",
    "load_training_state",
    "save_training_state",
    "ReIDLoss",
    "batch_hard_triplet_loss",
    "build_loss",
    "build_optimizer",
    "build_scheduler",
    "capture_rng_state",
    "epoch_seed",
    "restore_rng_state",
    "seed_everything",
    "Trainer",
    "TrainResult",
    "resolve_device",
]
