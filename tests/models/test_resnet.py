"""ResNet backbone: torchvision key/shape/parameter parity, numeric parity on torchvision's recorded outputs,
last_stride, and strict loading of local weight files with clear errors."""

import json
import math
from pathlib import Path

import pytest
import torch

from m3dreid.models.resnet import load_pretrained, resnet18, resnet34, resnet50
from m3dreid.weights import CheckpointError

REFERENCE = json.loads((Path(__file__).parents[1] / "fixtures" / "torchvision_resnet50_keys.json").read_text())


def recipe_state_dict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The deterministic weights described by the fixture's `weight_recipe`, in the fixture's key order."""
    g = torch.Generator().manual_seed(1234)
    shapes = dict(model.state_dict())
    state = {}
    for key, shape, dtype in REFERENCE["keys"]:
        assert list(shapes[key].shape) == shape
        if dtype == "int64":
            state[key] = torch.zeros(shape, dtype=torch.int64)
        elif key.endswith("running_var"):
            state[key] = torch.rand(shape, generator=g) + 0.5
        elif len(shape) >= 2:
            numel = math.prod(shape)
            state[key] = torch.randn(shape, generator=g) * math.sqrt(2 / (numel / shape[0]))
        elif key.endswith(("bn1.weight", "bn2.weight", "bn3.weight", "downsample.1.weight")):
            state[key] = torch.rand(shape, generator=g) * 0.5 + 0.25
        else:
            state[key] = torch.randn(shape, generator=g) * 0.1
    return state


def test_resnet50_parameter_count_equals_torchvision():
    model = resnet50(num_classes=1000)
    assert sum(p.numel() for p in model.parameters()) == REFERENCE["num_parameters"] == 25_557_032


def test_resnet50_state_dict_keys_and_shapes_equal_torchvision():
    state = resnet50(num_classes=1000).state_dict()
    ours = [[k, list(v.shape), str(v.dtype).removeprefix("torch.")] for k, v in state.items()]
    assert ours == REFERENCE["keys"]


def test_resnet50_outputs_match_torchvision_reference():
    torch.manual_seed(0)
    model = resnet50(num_classes=1000)
    model.load_state_dict(recipe_state_dict(model))
    model.eval()
    x = torch.randn(2, 3, 256, 128, generator=torch.Generator().manual_seed(42))
    with torch.no_grad():
        pooled = torch.flatten(model.avgpool(model.features(x)), 1)  # (2, 2048)
        logits = model.fc(pooled)  # (2, 1000)
    assert list(logits.shape) == REFERENCE["output_shape"]
    ref_first = torch.tensor(REFERENCE["output_first_10_of_each_row"])
    torch.testing.assert_close(logits[:, :10], ref_first, atol=1e-4, rtol=0)
    torch.testing.assert_close(logits.sum(1), torch.tensor(REFERENCE["output_row_sums"]), atol=1e-3, rtol=1e-5)
    torch.testing.assert_close(logits.norm(dim=1), torch.tensor(REFERENCE["output_row_l2"]), atol=1e-4, rtol=1e-5)
    ref_pooled = torch.tensor(REFERENCE["pooled_feature_first_10_of_each_row"])
    torch.testing.assert_close(pooled[:, :10], ref_pooled, atol=1e-4, rtol=0)
    torch.testing.assert_close(pooled.sum(1), torch.tensor(REFERENCE["pooled_feature_row_sums"]), atol=2e-3, rtol=1e-5)


@pytest.mark.parametrize("last_stride, size", [(1, (16, 8)), (2, (8, 4))])
def test_last_stride_sets_final_map(last_stride, size):
    model = resnet18(num_classes=0, last_stride=last_stride).eval()
    with torch.no_grad():
        fmap = model.features(torch.zeros(1, 3, 256, 128))
    assert tuple(fmap.shape[-2:]) == size


def test_resnet50_last_stride_one_map():
    model = resnet50(num_classes=0, last_stride=1).eval()
    with torch.no_grad():
        fmap = model.features(torch.zeros(1, 3, 256, 128))
    assert tuple(fmap.shape) == (1, 2048, 16, 8)


def test_resnet18_and_34_parameter_counts():
    # torchvision's published counts for resnet18 / resnet34 with a 1000-way fc.
    assert sum(p.numel() for p in resnet18().parameters()) == 11_689_512
    assert sum(p.numel() for p in resnet34().parameters()) == 21_797_672


def test_narrow_network_shapes():
    model = resnet18(num_classes=0, base_channels=16, last_stride=1).eval()
    with torch.no_grad():
        out = model(torch.zeros(2, 3, 64, 32))
    assert out.shape == (2, 128)


def test_load_pretrained_round_trip_skips_classifier(tmp_path):
    torch.manual_seed(0)
    source = resnet18(num_classes=1000)
    path = tmp_path / "resnet18.pth"
    torch.save(source.state_dict(), path)
    target = load_pretrained(resnet18(num_classes=0, last_stride=1), path)
    for key, value in target.state_dict().items():
        torch.testing.assert_close(value, source.state_dict()[key], atol=0, rtol=0)


def test_load_pretrained_lists_missing_and_unexpected_keys(tmp_path):
    state = resnet18(num_classes=1000).state_dict()
    state.pop("layer1.0.conv1.weight")
    state["layer9.weight"] = torch.zeros(1)
    path = tmp_path / "bad.pth"
    torch.save(state, path)
    with pytest.raises(CheckpointError) as err:
        load_pretrained(resnet18(num_classes=0), path)
    message = str(err.value)
    assert str(path) in message and "layer1.0.conv1.weight" in message and "layer9.weight" in message


def test_load_pretrained_reports_shape_mismatch(tmp_path):
    path = tmp_path / "r50.pth"
    torch.save(resnet18().state_dict(), path)
    with pytest.raises(CheckpointError, match="does not fit the model"):
        load_pretrained(resnet34(num_classes=0), path)
    torch.save(resnet18(base_channels=32).state_dict(), path)
    with pytest.raises(CheckpointError, match=r"conv1.weight: file has \(32, 3, 7, 7\), model has \(64, 3, 7, 7\)"):
        load_pretrained(resnet18(num_classes=0), path)


def test_truncated_empty_and_foreign_files_give_clear_errors(tmp_path):
    good = tmp_path / "good.pth"
    torch.save(resnet18().state_dict(), good)
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(good.read_bytes()[:5000])
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    text = tmp_path / "notes.pth"
    text.write_text("these are not weights")
    for path in (truncated, empty, text, tmp_path / "missing.pth"):
        with pytest.raises(CheckpointError) as err:
            load_pretrained(resnet18(num_classes=0), path)
        assert str(path) in str(err.value)
    not_a_state = tmp_path / "list.pth"
    torch.save([1, 2, 3], not_a_state)
    with pytest.raises(CheckpointError, match="does not hold a state dict"):
        load_pretrained(resnet18(num_classes=0), not_a_state)
