"""Writes small ModelOpt NVFP4 checkpoints for the loader tests, in ModelOpt's layout: one safetensors file
(8-byte little-endian header length, JSON header with __metadata__ {"format": "pt"} and per tensor dtype, shape and
data_offsets, padded to 8 bytes, then the data) plus hf_quant_config.json."""

import json
import struct

import numpy as np

from nvfp4_reference import random_checkpoint

_DTYPES = {np.dtype(np.uint8): "U8", np.dtype(np.float32): "F32", np.dtype(np.float16): "F16"}


def write_safetensors(path, tensors):
    """tensors: name -> (numpy array, safetensors dtype or None for the array's own)."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, (array, dtype) in tensors.items():
        data = np.ascontiguousarray(array).tobytes()
        header[name] = {"dtype": dtype or _DTYPES[array.dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as file:
        file.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def write_checkpoint(folder, rng, layers, exclude=("lm_head",)):
    """layers: prefix -> (n, k). Returns prefix -> (weight, weight_scale, weight_scale_2) as written; an unquantized
    fp16 lm_head [8, 16] is added and excluded, as ModelOpt does."""
    tensors, written = {}, {}
    for prefix, (n, k) in layers.items():
        weight, weight_scale, scale_2 = random_checkpoint(rng, n, k)
        tensors[f"{prefix}.weight"] = (weight, "U8")
        tensors[f"{prefix}.weight_scale"] = (weight_scale, "F8_E4M3")
        tensors[f"{prefix}.weight_scale_2"] = (np.array(scale_2, dtype=np.float32), "F32")
        tensors[f"{prefix}.input_scale"] = (np.array(1.0, dtype=np.float32), "F32")
        written[prefix] = (weight, weight_scale, scale_2)
    tensors["lm_head.weight"] = (rng.standard_normal((8, 16)).astype(np.float16), "F16")
    folder.mkdir(parents=True, exist_ok=True)
    write_safetensors(folder / "model.safetensors", tensors)
    config = {"producer": {"name": "modelopt", "version": "0.29.0"},
              "quantization": {"quant_algo": "NVFP4", "group_size": 16, "exclude_modules": list(exclude)}}
    (folder / "hf_quant_config.json").write_text(json.dumps(config))
    return written
