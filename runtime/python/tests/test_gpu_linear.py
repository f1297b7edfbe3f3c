"""Nvfp4Linear on a GPU with torch tensors, against x @ dequant(W).T in float64: fp16 and bf16, several shapes
(K and N not multiples of 64, M across the Marlin/dequant+cuBLAS crossover, leading batch dimensions), bias,
out=, non-default streams, torch.cuda.graph capture and replay with fresh inputs, torch.compile(fullgraph=True)
through the custom op, and the refusals that need device tensors. Skips without torch, CUDA or a driver."""

import pytest

import marlin_jit
from gpu_support import TOLERANCE, activations, as_numpy, reference, rng, upload_linear
from nvfp4_reference import relative_error

torch = pytest.importorskip("torch")
DTYPES = ["float16", "bfloat16"]


@pytest.fixture
def layer_and_w(gpu_runtime, request):
    n, k = getattr(request, "param", (256, 512))
    w, s, scale_2, dense = upload_linear(rng(n * 131 + k), n, k)
    return marlin_jit.Nvfp4Linear.from_checkpoint(w, s, scale_2, runtime=gpu_runtime), dense


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m, n, k", [(1, 256, 512), (7, 200, 336), (33, 128, 1040), (64, 320, 64), (300, 192, 272)])
def test_matches_float64_reference(gpu_runtime, dtype, m, n, k):
    w, s, scale_2, dense = upload_linear(rng(m + n + k), n, k)
    layer = marlin_jit.Nvfp4Linear.from_checkpoint(w, s, scale_2, runtime=gpu_runtime)
    assert (layer.n, layer.k) == (n, k)
    x = activations((m, k), dtype, seed=m * k)
    y = layer(x)
    assert isinstance(y, torch.Tensor) and y.dtype == x.dtype and y.shape == (m, n) and y.device == x.device
    torch.cuda.synchronize()
    assert relative_error(as_numpy(y), reference(x, dense)) < TOLERANCE[dtype]


@pytest.mark.parametrize("dtype", DTYPES)
def test_bias_and_leading_dimensions(layer_and_w, dtype):
    layer, dense = layer_and_w
    x = activations((2, 3, layer.k), dtype, seed=5)
    bias = activations((layer.n,), dtype, seed=6)
    y = layer(x, bias=bias)
    assert y.shape == (2, 3, layer.n)
    ref = reference(x.reshape(6, layer.k), dense, bias).reshape(2, 3, layer.n)
    assert relative_error(as_numpy(y), ref) < TOLERANCE[dtype]


@pytest.mark.parametrize("path", ["marlin", "dequant_cublas"])
def test_forced_paths_agree_with_the_reference(layer_and_w, path):
    layer, dense = layer_and_w
    x = activations((20, layer.k), "bfloat16", seed=9)
    y = layer.apply(x, path=path)
    torch.cuda.synchronize()
    assert relative_error(as_numpy(y), reference(x, dense)) < TOLERANCE["bfloat16"]


def test_float8_scales_are_accepted(gpu_runtime):
    w, s, scale_2, dense = upload_linear(rng(3), 128, 256, scale_dtype="float8_e4m3fn")
    layer = marlin_jit.Nvfp4Linear.from_checkpoint(w, s, torch.tensor(scale_2, dtype=torch.float32, device="cuda"),
                                                   runtime=gpu_runtime)
    x = activations((4, 256), "float16", seed=4)
    assert relative_error(as_numpy(layer(x)), reference(x, dense)) < TOLERANCE["float16"]


def test_out_is_written_and_returned(layer_and_w):
    layer, dense = layer_and_w
    x = activations((5, layer.k), "float16", seed=7)
    out = torch.full((5, layer.n), float("nan"), dtype=torch.float16, device="cuda")
    assert layer(x, out=out) is out
    assert relative_error(as_numpy(out), reference(x, dense)) < TOLERANCE["float16"]


def test_runs_on_the_callers_current_stream(layer_and_w):
    layer, dense = layer_and_w
    stream = torch.cuda.Stream()
    x = activations((3, layer.k), "bfloat16", seed=8)
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        y = layer(x)
        z = layer.apply(x)
    explicit = layer(x, stream=stream)  # explicit stream= (a torch.cuda.Stream), outside the context
    stream.synchronize()
    for result in (y, z, explicit):
        assert relative_error(as_numpy(result), reference(x, dense)) < TOLERANCE["bfloat16"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_cuda_graph_capture_and_replay_with_fresh_inputs(layer_and_w, dtype):
    layer, dense = layer_and_w
    stream = torch.cuda.Stream()
    static_x = activations((4, layer.k), dtype, seed=10)
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):  # one eager call on the capturing stream sizes its workspace
        layer(static_x)
    stream.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph, stream=stream):
        static_y = layer(static_x)
    for seed in (11, 12):
        fresh = activations((4, layer.k), dtype, seed=seed)
        static_x.copy_(fresh)
        graph.replay()
        torch.cuda.synchronize()
        assert relative_error(as_numpy(static_y), reference(fresh, dense)) < TOLERANCE[dtype]


def test_torch_compile_fullgraph_traces_the_custom_op(layer_and_w):
    layer, dense = layer_and_w

    def forward(x):
        return torch.relu(layer(x)) * 2

    compiled = torch.compile(forward, fullgraph=True)
    x = activations((6, layer.k), "bfloat16", seed=13)
    y = compiled(x)
    torch.cuda.synchronize()
    assert relative_error(as_numpy(y), 2 * reference(x, dense).clip(min=0)) < TOLERANCE["bfloat16"]


def test_custom_op_passes_torch_opcheck(layer_and_w):
    layer, _ = layer_and_w
    x = activations((2, layer.k), "float16", seed=14)
    torch.library.opcheck(torch.ops.marlin_jit.nvfp4_linear.default, (x, layer._op_id, None),
                          test_utils=("test_schema", "test_faketensor"))


def test_fake_tensor_tracing_runs_no_kernel(layer_and_w):
    layer, _ = layer_and_w
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode():
        x = torch.empty((9, layer.k), dtype=torch.bfloat16, device="cuda")
        y = layer(x)
    assert y.shape == (9, layer.n) and y.dtype == torch.bfloat16


def test_refusals_with_device_tensors(layer_and_w):
    layer, _ = layer_and_w
    cases = [
        (lambda: layer(torch.zeros((2, layer.k), dtype=torch.float16)), "tensor_device"),  # a CPU tensor
        (lambda: layer(torch.zeros((2, layer.k + 16), dtype=torch.float16, device="cuda")), "tensor_shape"),
        (lambda: layer(torch.zeros((2, layer.k), dtype=torch.float32, device="cuda")), "tensor_dtype"),
        (lambda: layer(torch.zeros((layer.k, 2), dtype=torch.float16, device="cuda").T), "tensor_layout"),
        (lambda: layer(torch.zeros((2, layer.k), dtype=torch.float16, device="cuda"),
                       out=torch.zeros((2, layer.n), dtype=torch.bfloat16, device="cuda")), "tensor_dtype"),
        (lambda: layer(torch.zeros((2, layer.k), dtype=torch.float16, device="cuda"),
                       bias=torch.zeros((layer.n + 1,), dtype=torch.float16, device="cuda")), "tensor_shape"),
    ]
    for call, rule in cases:
        with pytest.raises(marlin_jit.ConfigError) as caught:
            call()
        assert caught.value.rule == rule, str(caught.value)


def test_nan_scales_are_refused_at_preparation(gpu_runtime):
    w, s, scale_2, _ = upload_linear(rng(15), 64, 64)
    s[3, 1] = 0x7F
    with pytest.raises(marlin_jit.ConfigError) as caught:
        marlin_jit.Nvfp4Linear.from_checkpoint(w, s, scale_2, runtime=gpu_runtime)
    assert caught.value.rule == "nvfp4_scale_finite"
