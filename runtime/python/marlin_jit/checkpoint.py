"""Loading a ModelOpt NVFP4 checkpoint folder (safetensors + hf_quant_config.json) into prepared layers.

Reserved: the C++ loader (issue 11, item 4) is being built separately; this module will bind it as
``load_nvfp4_checkpoint(path, device)`` -> a dict of prepared layers.
"""


def load_nvfp4_checkpoint(path, device=0):
    raise NotImplementedError(
        "marlin_jit.load_nvfp4_checkpoint is not available yet (the C++ checkpoint loader is not part of this "
        "build); prepare layers with Nvfp4Linear.from_checkpoint / Nvfp4Moe.from_checkpoint")
