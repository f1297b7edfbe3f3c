// Every tensor of a checkpoint by name, across its safetensors files: what the layer collector reads and what
// Nvfp4Checkpoint::tensor hands out. Views point into the mapped files, which the owner keeps alive.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "checkpoint/safetensors_header.hpp"

namespace marlin_jit::checkpoint {

struct TensorRecord {
  SafetensorsTensor header;              // dtype, shape, offsets within its file's data section
  std::span<const std::uint8_t> bytes;   // the tensor's bytes in the mapped file
  std::size_t file_index = 0;            // into the owner's file list
};

using TensorTable = std::map<std::string, TensorRecord, std::less<>>;

}  // namespace marlin_jit::checkpoint
