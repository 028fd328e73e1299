"""The device-independent part of every fast path, run through the real trainer and extractor on a CPU.

bf16 autocast, channels_last weights and torch.compile (inductor's C++ backend) all run on a CPU, so what a GPU run
would first exercise (the switches, autocast around the model, the loss in fp32 after it, the memory-format
conversions, compiling the fused M3D layers with a free clip length) is tested here. The models are the registered
ResNet-18 2D and M3D networks at width 8 on 32x16 frames, with the M3D temporal weights made non-zero so that the
temporal layers change the result. torch.compile tests carry the ``compile`` marker (``make test-compile``).
"""

from __future__ import annotations

import csv
import math

import pytest
import torch

from m3dreid.config import config_from_dict, load_config
from m3dreid.engine import Trainer
from m3dreid.evaluation.extract import extract_features
from m3dreid.layers import GlobalM3D, LocalM3D
from m3dreid.models import create_model
from m3dreid.utils.fast_paths import fast_paths

pytestmark = pytest.mark.usefixtures("one_thread")

NUM_IDS, T, H, W = 6, 8, 32, 16


def make_model(name: str, num_classes: int = NUM_IDS) -> torch.nn.Module:
    torch.manual_seed(0)
    model = create_model(name, num_classes=num_classes, base_channels=8)
    gen = torch.Generator().manual_seed(1)
    for module in model.modules():  # zero-initialised temporal weights would make M3D equal 2D
        if isinstance(module, LocalM3D | GlobalM3D):
            for p in module.parameters():
                p.data = 0.05 * torch.randn(p.shape, generator=gen)
    return model


def epoch_loader(epoch: int):
    """3 batches of 4 clips (B, T, C, H, W) from 6 identities with one colour each; the same every epoch."""
    gen = torch.Generator().manual_seed(100 + epoch)
    pids = torch.arange(NUM_IDS).repeat_interleave(2)  # (12,)
    colours = torch.randn(NUM_IDS, 1, 3, 1, 1, generator=gen)
    clips = colours[pids] + 0.5 * torch.randn(len(pids), T, 3, H, W, generator=gen)  # (12, T, 3, H, W)
    order = torch.randperm(len(pids), generator=gen)
    return [(clips[i], pids[i], torch.zeros(len(i), dtype=torch.long)) for i in order.split(4)]


def train_config(**train):
    values = {"epochs": 1, "lr": 0.005, "log_every": 1, "seed": 3, "device": "cpu", "save_every": 1}
    values |= {"amp": False, "channels_last": False, "compile": False} | train
    return config_from_dict({"train": values, "output_dir": "unused"})


def run_trainer(tmp_path, name: str, **train) -> tuple[Trainer, list[float], list[torch.dtype]]:
    """Train one epoch (3 steps); returns the trainer, the logged loss of each step and the stem conv's dtypes."""
    trainer = Trainer(model=make_model(name), config=train_config(**train), run_dir=tmp_path, epoch_loader=epoch_loader)
    dtypes: list[torch.dtype] = []
    trainer.module.backbone.conv1.register_forward_hook(lambda mod, inp, out: dtypes.append(out.dtype))
    trainer.fit()
    rows = list(csv.DictReader((tmp_path / "train_log.csv").open()))
    return trainer, [float(r["loss"]) for r in rows], dtypes


def test_switches_apply_on_cuda_and_on_a_cpu_only_when_asked():
    cfg = load_config(None, ["train.amp=true", "train.channels_last=true", "train.compile=true"])
    assert fast_paths(cfg.train, "cuda").extract_kwargs() == {"amp": True, "channels_last": True, "compile": True}
    assert fast_paths(cfg.train, "cpu").extract_kwargs() == {"amp": False, "channels_last": False, "compile": False}
    on_cpu = load_config(None, ["train.fast_paths_on_cpu=true", "train.amp=true", "train.compile=false"])
    assert fast_paths(on_cpu.train, "cpu").extract_kwargs() == {"amp": True, "channels_last": True, "compile": False}


@pytest.mark.parametrize("name", ["resnet18_2d", "m3d_resnet18"])
def test_bf16_autocast_training_steps_are_finite_and_close_to_fp32(tmp_path, name):
    _, fp32, fp32_dtypes = run_trainer(tmp_path / "fp32", name)
    # amp=true alone keeps a CPU run in fp32 (the default config asks for amp, meant for CUDA) ...
    _, default, _ = run_trainer(tmp_path / "default", name, amp=True)
    assert default == fp32
    # ... fast_paths_on_cpu makes the trainer autocast the forward pass to bf16
    trainer, bf16, bf16_dtypes = run_trainer(tmp_path / "bf16", name, amp=True, fast_paths_on_cpu=True)
    assert trainer.amp and set(fp32_dtypes) == {torch.float32} and set(bf16_dtypes) == {torch.bfloat16}
    assert len(bf16) == len(fp32) == 3 and all(torch.isfinite(torch.tensor(bf16)))
    assert bf16 != fp32  # bf16 rounding changed the numbers ...
    for a, b in zip(bf16, fp32, strict=True):  # ... by about bf16's precision (8 bits of mantissa), not more
        assert abs(a - b) <= 0.03 * abs(b), (bf16, fp32)
    # the weights are still fp32 (autocast casts per op; the optimizer updates fp32 master weights)
    assert {p.dtype for p in trainer.module.parameters()} == {torch.float32}


def test_channels_last_training_is_bit_close_to_contiguous(tmp_path):
    plain, plain_loss, _ = run_trainer(tmp_path / "plain", "m3d_resnet18")
    nhwc, nhwc_loss, _ = run_trainer(tmp_path / "nhwc", "m3d_resnet18", channels_last=True, fast_paths_on_cpu=True)
    assert nhwc.module.backbone.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    assert not nhwc.module.backbone.conv1.weight.is_contiguous()
    assert nhwc_loss == pytest.approx(plain_loss, rel=1e-5, abs=1e-6)
    a, b = plain.module.state_dict(), nhwc.module.state_dict()
    for key in a:
        assert torch.allclose(a[key].float(), b[key].float(), rtol=1e-4, atol=1e-5), key


def _tracklets(lengths, seed: int = 5) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(n, 3, H, W, generator=gen) for n in lengths]  # each (T, C, H, W)


def test_extractor_bf16_and_channels_last_on_cpu():
    model = make_model("m3d_resnet18", num_classes=0).eval()
    clips = _tracklets([5, 13])
    fp32 = extract_features(model, clips, chunk_size=6)
    bf16 = extract_features(model, clips, chunk_size=6, amp=True)
    assert bf16.dtype == torch.float32 and not torch.equal(bf16, fp32)
    assert ((bf16 - fp32).norm(dim=1) / fp32.norm(dim=1)).max() < 0.05
    nhwc = extract_features(model, clips, chunk_size=6, channels_last=True)
    assert model.backbone.layer1[0].conv1.weight.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(nhwc, fp32, rtol=1e-5, atol=1e-5)


@pytest.mark.compile
def test_compiled_m3d_extraction_equals_eager_for_every_clip_length():
    model = make_model("m3d_resnet18", num_classes=0).eval()
    clips = _tracklets([3, 9, 20])  # windows of several lengths (chunk 6 + halo): T is symbolic, no recompile per T
    eager = extract_features(model, clips, chunk_size=6)
    torch._dynamo.reset()
    compiled = extract_features(model, clips, chunk_size=6, compile=True)
    assert torch.allclose(compiled, eager, rtol=1e-4, atol=1e-4), (compiled - eager).abs().max()


@pytest.mark.compile
def test_compiled_m3d_training_steps_match_eager(tmp_path):
    _, eager, _ = run_trainer(tmp_path / "eager", "m3d_resnet18")
    torch._dynamo.reset()
    trainer, compiled, _ = run_trainer(tmp_path / "compiled", "m3d_resnet18", compile=True, fast_paths_on_cpu=True)
    assert type(trainer.model).__name__ == "OptimizedModule"
    assert compiled == pytest.approx(eager, rel=1e-4, abs=1e-5)


# ---- on a GPU (benchmarks/gpu_check.py runs these with `pytest -m cuda`; skipped without CUDA) --------------------
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


@pytest.mark.cuda
@needs_cuda
@pytest.mark.parametrize("name", ["resnet18_2d", "m3d_resnet18"])
def test_cuda_trainer_bf16_channels_last_is_close_to_cpu_fp32(tmp_path, name):
    _, cpu, _ = run_trainer(tmp_path / "cpu", name)
    trainer, gpu, dtypes = run_trainer(tmp_path / "gpu", name, device="cuda", amp=True, channels_last=True)
    assert trainer.device.type == "cuda" and set(dtypes) == {torch.bfloat16}
    assert trainer.module.backbone.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    for a, b in zip(gpu, cpu, strict=True):
        assert math.isfinite(a) and abs(a - b) <= 0.03 * abs(b), (gpu, cpu)


@pytest.mark.cuda
@needs_cuda
def test_cuda_extraction_bf16_compiled_channels_last_is_close_to_cpu_fp32():
    clips = _tracklets([3, 9, 20])
    cpu = extract_features(make_model("m3d_resnet18", num_classes=0).eval(), clips, chunk_size=6)
    model = make_model("m3d_resnet18", num_classes=0).eval().cuda()
    eager = extract_features(model, clips, chunk_size=6)  # fp32 (TF32 convolutions allowed: about 1e-3)
    assert ((eager - cpu).norm(dim=1) / cpu.norm(dim=1)).max() < 1e-2
    torch._dynamo.reset()
    fast = extract_features(model, clips, chunk_size=6, amp=True, channels_last=True, compile=True)
    assert ((fast - cpu).norm(dim=1) / cpu.norm(dim=1)).max() < 0.05
