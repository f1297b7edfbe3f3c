"""marlin_jit.load_nvfp4_checkpoint over the C++ loader: a checkpoint written here in ModelOpt's layout loads into
Nvfp4Linear layers whose outputs match x @ dequant(W).T in float64 (GPU); broken checkpoints are refused with the
rule before any GPU work (CPU)."""

import numpy as np
import pytest

import marlin_jit
from modelopt_writer import write_checkpoint, write_safetensors
from nvfp4_reference import dequantize, relative_error

LAYERS = {"model.layers.0.mlp.up_proj": (192, 256), "model.layers.0.mlp.down_proj": (256, 192),
          "model.layers.10.self_attn.o_proj": (64, 336)}


def test_a_missing_folder_is_refused_with_the_rule(runtime, tmp_path):
    with pytest.raises(marlin_jit.ConfigError) as caught:
        marlin_jit.load_nvfp4_checkpoint(tmp_path / "absent", runtime=runtime)
    assert caught.value.rule.startswith("checkpoint_")


def test_a_truncated_safetensors_file_is_refused_before_any_gpu_work(runtime, tmp_path):
    write_checkpoint(tmp_path / "ckpt", np.random.default_rng(1), LAYERS)
    data = (tmp_path / "ckpt" / "model.safetensors").read_bytes()
    (tmp_path / "ckpt" / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(marlin_jit.ConfigError) as caught:
        marlin_jit.load_nvfp4_checkpoint(tmp_path / "ckpt", runtime=runtime)
    assert caught.value.rule.startswith("safetensors_")


def test_a_scale_of_the_wrong_dtype_names_the_tensor(runtime, tmp_path):
    written = write_checkpoint(tmp_path / "ckpt", np.random.default_rng(2), {"proj": (64, 128)})
    weight, weight_scale, _ = written["proj"]
    write_safetensors(tmp_path / "ckpt" / "model.safetensors",
                      {"proj.weight": (weight, "U8"), "proj.weight_scale": (weight_scale, "U8"),
                       "proj.weight_scale_2": (np.array(0.5, dtype=np.float32), "F32")})
    with pytest.raises(marlin_jit.ConfigError) as caught:
        marlin_jit.load_nvfp4_checkpoint(tmp_path / "ckpt", runtime=runtime)
    assert caught.value.rule == "nvfp4_tensor_dtype" and "proj.weight_scale" in str(caught.value)


def test_a_bad_device_is_refused(runtime, tmp_path):
    with pytest.raises(marlin_jit.ConfigError) as caught:
        marlin_jit.load_nvfp4_checkpoint(tmp_path, device=-1, runtime=runtime)
    assert caught.value.rule == "checkpoint_device"


def test_without_a_driver_a_good_checkpoint_fails_as_a_driver_error(runtime, tmp_path):
    if marlin_jit.driver_available():
        pytest.skip("a CUDA driver is present (the GPU test loads for real)")
    write_checkpoint(tmp_path / "ckpt", np.random.default_rng(3), LAYERS)
    with pytest.raises(marlin_jit.DriverError):
        marlin_jit.load_nvfp4_checkpoint(tmp_path / "ckpt", runtime=runtime)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_loaded_layers_match_the_float64_reference(gpu_runtime, tmp_path, dtype):
    torch = pytest.importorskip("torch")
    from gpu_support import TOLERANCE, activations, as_numpy, reference

    written = write_checkpoint(tmp_path / "ckpt", np.random.default_rng(4), LAYERS)
    loaded = marlin_jit.load_nvfp4_checkpoint(tmp_path / "ckpt", device=0, runtime=gpu_runtime)
    assert list(loaded) == ["model.layers.0.mlp.down_proj", "model.layers.0.mlp.up_proj",
                            "model.layers.10.self_attn.o_proj"]  # natural order: layers.0 before layers.10
    assert [m["prefix"] for m in loaded.unquantized_modules] == ["lm_head"]
    assert loaded.unquantized_modules[0]["excluded"] and loaded.quant_config["quant_algo"] == "NVFP4"
    for prefix, layer in loaded.items():
        n, k = LAYERS[prefix]
        assert isinstance(layer, marlin_jit.Nvfp4Linear) and (layer.n, layer.k) == (n, k)
        x = activations((5, k), dtype, seed=n + k)
        y = layer(x)
        torch.cuda.synchronize()
        assert relative_error(as_numpy(y), reference(x, dequantize(*written[prefix]))) < TOLERANCE[dtype], prefix
