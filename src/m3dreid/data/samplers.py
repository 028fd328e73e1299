"""P x K identity batch sampler: P identities a batch, K tracklets each, deterministic from a seed, DDP-aware.

Why a batch sampler that yields ``(tracklet_index, sample_seed)`` pairs: every random choice of a training sample
(clip start, flip, erasing box) is then fixed by the sampler's seed and epoch, not by which DataLoader worker happens
to decode it, so runs repeat exactly with any number of workers and any number of ranks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

import numpy as np
from torch.utils.data import Sampler

__all__ = ["PKBatchSampler"]


class PKBatchSampler(Sampler[list[tuple[int, int]]]):
    """Batches of ``ids_per_batch * tracklets_per_id`` items ``(tracklet index, sample seed)``.

    An epoch shuffles the identities and cuts them into groups of P (the last incomplete group is dropped); each
    identity contributes K of its tracklets, without replacement when it has at least K, with replacement otherwise.
    ``num_batches`` (global, over all ranks) overrides the epoch length, drawing more permutations as needed.
    With ``world_size > 1`` rank ``r`` takes global batches ``r, r + world_size, ...`` (the same count on every rank),
    so ranks see disjoint batches. Each ``iter()`` uses ``self.epoch`` and then advances it; ``set_epoch(e)`` makes
    the next one epoch ``e``.

    Hard-identity mining (``neighbours_per_id = m > 1``): a batch's P identities are P / m sampled "anchor"
    identities, each with its ``m - 1`` nearest identities by ``set_similarity`` (e.g. the cosine similarity of the
    classifier's rows, refreshed each epoch by the training loop), so that look-alikes meet in one batch and a
    triplet term has to separate them. Without a similarity yet the neighbours are random.
    """

    def __init__(
        self,
        pids: Sequence[int],
        *,
        ids_per_batch: int,
        tracklets_per_id: int,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
        num_batches: int | None = None,
        neighbours_per_id: int = 0,
    ) -> None:
        if ids_per_batch < 1 or tracklets_per_id < 1:
            raise ValueError(f"P x K sampler needs P, K >= 1, got P={ids_per_batch}, K={tracklets_per_id}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside 0..{world_size - 1}")
        by_pid: dict[int, list[int]] = defaultdict(list)
        for index, pid in enumerate(pids):
            by_pid[int(pid)].append(index)
        self._by_pid = {pid: np.asarray(idx) for pid, idx in sorted(by_pid.items())}
        self._ids = np.asarray(sorted(self._by_pid))
        if len(self._ids) < ids_per_batch:
            raise ValueError(f"P x K sampler: {len(self._ids)} identities, fewer than P={ids_per_batch}")
        self.p, self.k, self.seed = ids_per_batch, tracklets_per_id, seed
        self.rank, self.world_size = rank, world_size
        per_epoch = len(self._ids) // ids_per_batch
        self.global_batches = num_batches if num_batches is not None else per_epoch
        if self.global_batches < world_size:
            raise ValueError(f"P x K sampler: {self.global_batches} batches an epoch for {world_size} ranks")
        self.epoch = 0
        if neighbours_per_id > 1 and ids_per_batch % neighbours_per_id:
            raise ValueError(
                f"P x K sampler: P={ids_per_batch} is not a multiple of neighbours_per_id={neighbours_per_id}"
            )
        self.m = neighbours_per_id if neighbours_per_id > 1 else 1
        self._nearest: np.ndarray | None = None  # (N, N) identity indices by decreasing similarity

    def set_similarity(self, similarity: np.ndarray | None) -> None:
        """``(N, N)`` similarity of the identities in sorted-pid order (higher = more alike); None = random."""
        if similarity is None:
            self._nearest = None
            return
        sim = np.array(similarity, np.float64)
        if sim.shape != (len(self._ids), len(self._ids)):
            raise ValueError(f"similarity must be ({len(self._ids)}, {len(self._ids)}), got {sim.shape}")
        np.fill_diagonal(sim, np.inf)  # an identity is its own nearest
        self._nearest = np.argsort(-sim, axis=1, kind="stable")

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.global_batches // self.world_size

    def _global_batches(self, epoch: int) -> list[list[tuple[int, int]]]:
        rng = np.random.default_rng((self.seed, epoch))
        batches: list[list[tuple[int, int]]] = []
        while len(batches) < self.global_batches:
            order = rng.permutation(self._ids)
            for start in range(0, len(order) - self.p + 1, self.p):
                batch = []
                chosen = order[start : start + self.p] if self.m == 1 else self._mined(order, start, rng)
                for pid in chosen:
                    pool = self._by_pid[int(pid)]
                    pick = rng.choice(pool, self.k, replace=len(pool) < self.k)
                    seeds = rng.integers(0, 2**63 - 1, self.k)
                    batch.extend((int(i), int(s)) for i, s in zip(pick, seeds, strict=True))
                batches.append(batch)
                if len(batches) == self.global_batches:
                    break
        return batches

    def _mined(self, order: np.ndarray, start: int, rng: np.random.Generator) -> list[int]:
        """P identities: anchors from ``order`` and each one's m - 1 nearest ones not yet in the batch."""
        index = {int(pid): i for i, pid in enumerate(self._ids)}
        taken: list[int] = []
        for pid in order[start:]:
            if len(taken) == self.p:
                break
            if int(pid) in taken:
                continue
            taken.append(int(pid))
            if self._nearest is None:
                pool = [int(p) for p in rng.permutation(self._ids) if int(p) not in taken]
            else:
                pool = [int(self._ids[j]) for j in self._nearest[index[int(pid)]] if int(self._ids[j]) not in taken]
            taken.extend(pool[: self.m - 1])
        return taken[: self.p]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        epoch = self.epoch
        self.epoch += 1
        batches = self._global_batches(epoch)[: len(self) * self.world_size]
        yield from batches[self.rank :: self.world_size]
