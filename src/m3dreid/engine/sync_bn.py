"""Batch normalisation whose batch statistics span all ranks, on any device and any backend (gloo included).

torch's ``nn.SyncBatchNorm`` refuses CPU tensors, so ``torchrun`` on CPU with ``train.sync_bn: true`` needs its own
layer. :class:`DistributedBatchNorm` computes the mean and the (two-pass) variance over the union of the ranks'
batches with a differentiable all-reduce: in backward the gradient of the shared statistics is summed over ranks, so
N ranks of B samples give the same forward values, gradients and running statistics as one process with N*B samples.
On CUDA :func:`convert_sync_batchnorm` uses torch's fused ``nn.SyncBatchNorm`` instead (``use_torch=True``).
Outside a process group, or in eval mode, the layer is an ordinary BatchNorm.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn

__all__ = ["DistributedBatchNorm", "convert_sync_batchnorm"]


class _AllReduceSum(torch.autograd.Function):
    """Sum over ranks; its gradient is again the sum over ranks of the incoming gradients."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:
        out = tensor.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad


class DistributedBatchNorm(nn.modules.batchnorm._BatchNorm):
    """BatchNorm over ``(N, C, ...)`` inputs (any number of trailing dims) with statistics shared by all ranks."""

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"DistributedBatchNorm: expected (N, C, ...) input, got shape {tuple(input.shape)}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input_dim(x)
        synced = self.training and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
        if not synced:
            return super().forward(x)
        dims = [0, *range(2, x.dim())]  # every dim but C
        shape = (1, x.shape[1]) + (1,) * (x.dim() - 2)  # broadcasts a (C,) vector over (N, C, ...)
        local_count = torch.tensor([x.numel() // x.shape[1]], dtype=x.dtype, device=x.device)
        sums = _AllReduceSum.apply(torch.cat([x.sum(dims), local_count]))  # (C + 1,)
        count = sums[-1].detach()
        mean = sums[:-1] / count  # (C,)
        centered = x - mean.view(shape)
        var = _AllReduceSum.apply((centered * centered).sum(dims)) / count  # (C,) biased, as BN normalises
        out = centered * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
                unbiased = var * (count / (count - 1).clamp(min=1))
                self.running_mean.lerp_(mean.detach().to(self.running_mean.dtype), factor)
                self.running_var.lerp_(unbiased.detach().to(self.running_var.dtype), factor)
        return out


def convert_sync_batchnorm(module: nn.Module, *, use_torch: bool = False) -> nn.Module:
    """Replace every BatchNorm1d/2d/3d in ``module`` with a rank-synchronised one, keeping weights and buffers.

    ``use_torch=True`` (CUDA) uses ``nn.SyncBatchNorm``; otherwise :class:`DistributedBatchNorm`, which also works
    with gloo on CPU.
    """
    if use_torch:
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(
        module, DistributedBatchNorm | nn.SyncBatchNorm
    ):
        new = DistributedBatchNorm(
            module.num_features,
            eps=module.eps,
            momentum=module.momentum,
            affine=module.affine,
            track_running_stats=module.track_running_stats,
            device=module.running_mean.device if module.running_mean is not None else None,
        )
        with torch.no_grad():
            if module.affine:
                new.weight.copy_(module.weight)
                new.bias.copy_(module.bias)
                new.weight.requires_grad_(module.weight.requires_grad)
                new.bias.requires_grad_(module.bias.requires_grad)
            if module.track_running_stats:
                new.running_mean.copy_(module.running_mean)
                new.running_var.copy_(module.running_var)
                new.num_batches_tracked.copy_(module.num_batches_tracked)
        new.train(module.training)
        return new
    for name, child in module.named_children():
        module.add_module(name, convert_sync_batchnorm(child, use_torch=False))
    return module
