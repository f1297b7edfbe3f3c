"""from_checkpoint checks the tensors before any GPU work: dtypes, ranks, shapes against each other, layout, then
the device (host arrays are refused with rule tensor_device). NumPy arrays come in through DLPack on the CPU, so
every refusal but the device one is exercised without a GPU."""

import numpy as np
import pytest

import marlin_jit

N, K = 64, 128


def weights():
    return np.zeros((N, K // 2), np.uint8), np.full((N, K // 16), 0x38, np.uint8)


def refused(call):
    with pytest.raises(marlin_jit.ConfigError) as caught:
        call()
    return caught.value


def test_host_arrays_are_refused_as_not_on_the_gpu(runtime):
    weight, scale = weights()
    error = refused(lambda: marlin_jit.Nvfp4Linear.from_checkpoint(weight, scale, 1.0, runtime=runtime))
    assert error.rule == "tensor_device" and "CPU" in error.value


@pytest.mark.parametrize("weight, scale, rule, named", [
    (np.zeros((N, K // 2), np.float32), np.zeros((N, K // 16), np.uint8), "tensor_dtype", "weight"),
    (np.zeros((N, K // 2), np.uint8), np.zeros((N, K // 16), np.float16), "tensor_dtype", "weight_scale"),
    (np.zeros((N * K // 2,), np.uint8), np.zeros((N, K // 16), np.uint8), "tensor_shape", "weight"),
    (np.zeros((N, K // 2), np.uint8), np.zeros((N, K // 8), np.uint8), "tensor_shape", "weight_scale"),
    (np.zeros((N, K // 2), np.uint8), np.zeros((N + 1, K // 16), np.uint8), "tensor_shape", "weight_scale"),
    (np.zeros((K // 2, N), np.uint8).T, np.zeros((N, K // 16), np.uint8), "tensor_layout", "weight"),
])
def test_bad_checkpoint_tensors_are_refused_with_the_rule(runtime, weight, scale, rule, named):
    error = refused(lambda: marlin_jit.Nvfp4Linear.from_checkpoint(weight, scale, 1.0, runtime=runtime))
    assert error.rule == rule
    assert named in str(error)


def test_global_scale_must_be_one_number(runtime):
    weight, scale = weights()
    error = refused(lambda: marlin_jit.Nvfp4Linear.from_checkpoint(weight, scale, [1.0, 2.0], runtime=runtime))
    assert error.rule == "tensor_shape" and "weight_scale_2" in str(error)


def test_moe_shapes_are_checked_against_each_other(runtime):
    e, h, i = 4, 128, 64
    w1 = np.zeros((e, 2 * i, h // 2), np.uint8)
    w1_scale = np.zeros((e, 2 * i, h // 16), np.uint8)
    w2 = np.zeros((e, h, i // 2), np.uint8)
    w2_scale = np.zeros((e, h, i // 16), np.uint8)
    scales = [1.0] * e

    def prepare(**changes):
        args = dict(w1=w1, w1_scale=w1_scale, w1_scale_2=scales, w2=w2, w2_scale=w2_scale, w2_scale_2=scales)
        args.update(changes)
        return marlin_jit.Nvfp4Moe.from_checkpoint(**args, runtime=runtime)

    assert refused(prepare).rule == "tensor_device"  # all consistent: only the host memory is wrong
    error = refused(lambda: prepare(activation="relu2"))  # non-gated W1 has I rows, not 2*I
    assert error.rule == "tensor_shape" and "w1" in str(error)
    assert refused(lambda: prepare(w2_scale=np.zeros((e, h, i // 8), np.uint8))).rule == "tensor_shape"
    assert refused(lambda: prepare(w1_bias=np.zeros((e, 2 * i), np.float16))).rule == "tensor_dtype"
    assert refused(lambda: prepare(activation="gelu")).rule == "spec_grammar"
