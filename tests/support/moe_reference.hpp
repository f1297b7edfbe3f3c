// CPU references of an NVFP4 MoE layer, header-only, written from the contracts rather than the device code: token
// alignment (moe_align's contract in entry/moe_routing.cuh) with a canonical form and a property check, and the layer
// (nvfp4_moe.hpp's formula) from host checkpoints, in float64 or rounding where any fp16/bf16 pipeline must.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "marlin_jit/types.hpp"
#include "nvfp4_checkpoint.hpp"

namespace marlin_jit::test {

// ---- token alignment

// What moe_align writes: slots (token·topk + j) grouped by expert in expert order, each expert's run padded with
// the sentinel `slots` to a whole number of blocks; the expert of every block (-1 past the padded total); the
// padded total; and how many ids were outside [0, experts).
struct MoeAlignment {
  std::vector<std::int32_t> sorted_rows;    // [max_blocks · block_rows]
  std::vector<std::int32_t> block_experts;  // [max_blocks]
  std::int64_t padded_total = 0;
  std::uint64_t invalid = 0;
  bool operator==(const MoeAlignment&) const = default;
};

// The alignment of topk_ids[0, slots): runs in ascending slot order, padding at each run's end (the canonical form).
// Throws std::invalid_argument when the runs do not fit max_blocks blocks.
inline MoeAlignment moe_align_reference(const std::vector<std::int32_t>& topk_ids, std::int64_t slots,
                                        std::int64_t experts, int block_rows, std::int64_t max_blocks) {
  if (slots < 0 || slots > static_cast<std::int64_t>(topk_ids.size()) ||
      slots > std::numeric_limits<std::int32_t>::max() || experts < 1 || block_rows < 1 || max_blocks < 0) {
    throw std::invalid_argument("moe_align_reference: bad sizes");
  }
  std::vector<std::vector<std::int32_t>> runs(static_cast<std::size_t>(experts));
  MoeAlignment out;
  for (std::int64_t s = 0; s < slots; ++s) {
    const std::int32_t id = topk_ids[static_cast<std::size_t>(s)];
    if (id < 0 || id >= experts) {
      ++out.invalid;
    } else {
      runs[static_cast<std::size_t>(id)].push_back(static_cast<std::int32_t>(s));
    }
  }
  const std::int64_t capacity = max_blocks * block_rows;
  out.sorted_rows.assign(static_cast<std::size_t>(capacity), static_cast<std::int32_t>(slots));
  out.block_experts.assign(static_cast<std::size_t>(max_blocks), -1);
  std::int64_t row = 0;
  for (std::int64_t e = 0; e < experts; ++e) {
    const std::vector<std::int32_t>& run = runs[static_cast<std::size_t>(e)];
    if (run.empty()) continue;
    const std::int64_t blocks = (static_cast<std::int64_t>(run.size()) + block_rows - 1) / block_rows;
    if (row + blocks * block_rows > capacity) {
      throw std::invalid_argument(
          "moe_align_reference: the runs need more than max_blocks = " + std::to_string(max_blocks) + " blocks");
    }
    std::copy(run.begin(), run.end(), out.sorted_rows.begin() + row);
    for (std::int64_t b = 0; b < blocks; ++b) {
      out.block_experts[static_cast<std::size_t>(row / block_rows + b)] = static_cast<std::int32_t>(e);
    }
    row += blocks * block_rows;
  }
  out.padded_total = row;
  return out;
}

// Sorts the rows of every run (maximal stretch of blocks with one block_experts value, the blocks past the total
// included), which puts an alignment whose order inside runs is unspecified (the kernel's) in the canonical form.
// Slots moved between runs stay where they are, so a wrong alignment still differs from the reference.
inline void canonicalise_alignment(MoeAlignment& alignment, int block_rows) {
  const std::size_t blocks = alignment.block_experts.size(), rows = alignment.sorted_rows.size();
  for (std::size_t first = 0; first < blocks;) {
    std::size_t last = first + 1;
    while (last < blocks && alignment.block_experts[last] == alignment.block_experts[first]) ++last;
    const std::size_t begin = std::min(rows, first * static_cast<std::size_t>(block_rows));
    const std::size_t end = std::min(rows, last * static_cast<std::size_t>(block_rows));
    std::sort(alignment.sorted_rows.begin() + static_cast<std::ptrdiff_t>(begin),
              alignment.sorted_rows.begin() + static_cast<std::ptrdiff_t>(end));
    first = last;
  }
}

namespace moe_detail {

inline void note(std::vector<std::string>& found, std::size_t& more, const std::string& what) {
  if (found.size() < 8) {
    found.push_back(what);
  } else {
    ++more;
  }
}

// Counts of each slot's appearances and of each expert's blocks, checking every row against its block's expert.
inline void check_rows(const std::vector<std::int32_t>& ids, std::int64_t slots, int block_rows, const MoeAlignment& a,
                       std::vector<std::int64_t>& seen, std::vector<std::string>& found, std::size_t& more) {
  for (std::size_t r = 0; r < a.sorted_rows.size(); ++r) {
    const std::int64_t value = a.sorted_rows[r];
    const std::int64_t expert = a.block_experts[r / static_cast<std::size_t>(block_rows)];
    if (value == slots) continue;  // padding is allowed anywhere inside a run and is all there is past the total
    const std::string where = "row " + std::to_string(r) + " holds " + std::to_string(value);
    if (static_cast<std::int64_t>(r) >= a.padded_total) {
      note(found, more, where + " past the padded total " + std::to_string(a.padded_total));
    } else if (value < 0 || value > slots) {
      note(found, more, where + ", neither a slot nor the sentinel " + std::to_string(slots));
    } else if (ids[static_cast<std::size_t>(value)] != expert) {
      note(found, more,
           where + " (expert " + std::to_string(ids[static_cast<std::size_t>(value)]) + ") in a block of expert " +
               std::to_string(expert));
    } else {
      ++seen[static_cast<std::size_t>(value)];
    }
  }
}

}  // namespace moe_detail

// Every way `a` breaks the moe_align contract for topk_ids[0, slots) (empty when it holds), independently of how
// the reference builds its answer: sizes; padded total a multiple of block_rows inside the buffer; block experts in
// [0, experts), non-decreasing (one run per expert, in expert order), -1 past the total; every valid slot exactly
// once, in a block of its expert; nothing else but the sentinel; each run exactly ceil(count / block_rows) blocks;
// the invalid count. At most 8 messages, then a count of the rest.
inline std::vector<std::string> alignment_violations(const std::vector<std::int32_t>& ids, std::int64_t slots,
                                                     std::int64_t experts, int block_rows, std::int64_t max_blocks,
                                                     const MoeAlignment& a) {
  std::vector<std::string> found;
  std::size_t more = 0;
  if (static_cast<std::int64_t>(a.block_experts.size()) != max_blocks ||
      static_cast<std::int64_t>(a.sorted_rows.size()) != max_blocks * block_rows) {
    return {"sizes: " + std::to_string(a.sorted_rows.size()) + " rows, " + std::to_string(a.block_experts.size()) +
            " blocks for max_blocks " + std::to_string(max_blocks)};
  }
  if (a.padded_total < 0 || a.padded_total % block_rows != 0 || a.padded_total > max_blocks * block_rows) {
    moe_detail::note(
        found, more,
        "padded total " + std::to_string(a.padded_total) + " is not a whole number of " + "blocks inside the buffer");
  }
  std::vector<std::int64_t> blocks_of(static_cast<std::size_t>(experts), 0);
  for (std::int64_t b = 0; b < max_blocks; ++b) {
    const std::int64_t expert = a.block_experts[static_cast<std::size_t>(b)];
    const std::string where = "block " + std::to_string(b) + " has expert " + std::to_string(expert);
    if (b * block_rows >= a.padded_total) {
      if (expert != -1) moe_detail::note(found, more, where + " past the padded total (want -1)");
    } else if (expert < 0 || expert >= experts) {
      moe_detail::note(found, more, where + ", not an expert");
    } else {
      ++blocks_of[static_cast<std::size_t>(expert)];
      if (b > 0 && expert < a.block_experts[static_cast<std::size_t>(b - 1)]) {
        moe_detail::note(found, more, where + " after expert " + std::to_string(a.block_experts[b - 1]));
      }
    }
  }
  std::vector<std::int64_t> seen(static_cast<std::size_t>(slots), 0), count(static_cast<std::size_t>(experts), 0);
  moe_detail::check_rows(ids, slots, block_rows, a, seen, found, more);
  std::uint64_t invalid = 0;
  for (std::int64_t s = 0; s < slots; ++s) {
    const std::int32_t id = ids[static_cast<std::size_t>(s)];
    const bool valid = id >= 0 && id < experts;
    invalid += valid ? 0 : 1;
    if (valid) ++count[static_cast<std::size_t>(id)];
    if (valid && seen[static_cast<std::size_t>(s)] != 1) {
      moe_detail::note(found, more,
                       "slot " + std::to_string(s) + " (expert " + std::to_string(id) + ") appears " +
                           std::to_string(seen[static_cast<std::size_t>(s)]) + " times");
    }
  }
  for (std::int64_t e = 0; e < experts; ++e) {
    const std::int64_t want = (count[static_cast<std::size_t>(e)] + block_rows - 1) / block_rows;
    if (blocks_of[static_cast<std::size_t>(e)] != want) {
      moe_detail::note(found, more,
                       "expert " + std::to_string(e) + " has " + std::to_string(blocks_of[e]) + " blocks for " +
                           std::to_string(count[e]) + " slots (want " + std::to_string(want) + ")");
    }
  }
  if (a.invalid != invalid) {
    moe_detail::note(found, more, "invalid count " + std::to_string(a.invalid) + ", want " + std::to_string(invalid));
  }
  if (more > 0) found.push_back("... and " + std::to_string(more) + " more");
  return found;
}

// ---- one MoE layer as a checkpoint holds it

struct MoeHostLayer {
  std::int64_t experts = 0, hidden = 0, intermediate = 0;  // E, H, I
  Activation activation = Activation::silu_gated;
  std::vector<Nvfp4HostLayer> w1;  // per expert [N1][H]: gate rows [0, I) then up rows [I, 2I), or [I][H]
  std::vector<Nvfp4HostLayer> w2;  // per expert [H][I]
  std::vector<float> w1_bias;      // [E][N1] or empty
  std::vector<float> w2_bias;      // [E][H] or empty

  bool gated() const { return activation == Activation::silu_gated; }
  std::int64_t w1_rows() const { return (gated() ? 2 : 1) * intermediate; }
};

// Experts drawn like a real checkpoint (make_layer per expert and projection, seeds derived from `seed`), with fp32
// biases N(0, 0.1) for W1 and N(0, 0.01) for W2 when `bias`: about the size of the products they are added to for
// realistic layers of a few hundred columns, so a bias in the wrong column or added after the activation shows in
// the output, while the products' own errors are not drowned.
inline MoeHostLayer make_moe_layer(std::int64_t experts, std::int64_t hidden, std::int64_t intermediate,
                                   Activation activation, bool bias, std::uint64_t seed,
                                   CheckpointKind kind = CheckpointKind::realistic) {
  MoeHostLayer layer;
  layer.experts = experts;
  layer.hidden = hidden;
  layer.intermediate = intermediate;
  layer.activation = activation;
  for (std::int64_t e = 0; e < experts; ++e) {
    const auto stream = static_cast<std::uint64_t>(4 * e);
    layer.w1.push_back(make_layer(kind, layer.w1_rows(), hidden, stream_seed(seed, stream)));
    layer.w2.push_back(make_layer(kind, hidden, intermediate, stream_seed(seed, stream + 1)));
  }
  if (bias) {
    TestRng rng(stream_seed(seed, ~std::uint64_t{0}));
    for (std::int64_t i = 0; i < experts * layer.w1_rows(); ++i)
      layer.w1_bias.push_back(static_cast<float>(0.1 * rng.normal()));
    for (std::int64_t i = 0; i < experts * hidden; ++i)
      layer.w2_bias.push_back(static_cast<float>(0.01 * rng.normal()));
  }
  return layer;
}

// The experts' tensors stacked [E, ...] as an engine uploads them: the codes, the scale bytes, the global scales.
inline std::vector<std::uint8_t> stacked_weights(const std::vector<Nvfp4HostLayer>& layers) {
  std::vector<std::uint8_t> out;
  for (const Nvfp4HostLayer& layer : layers) out.insert(out.end(), layer.weight.begin(), layer.weight.end());
  return out;
}
inline std::vector<std::uint8_t> stacked_scales(const std::vector<Nvfp4HostLayer>& layers) {
  std::vector<std::uint8_t> out;
  for (const Nvfp4HostLayer& layer : layers)
    out.insert(out.end(), layer.weight_scale.begin(), layer.weight_scale.end());
  return out;
}
inline std::vector<float> global_scales(const std::vector<Nvfp4HostLayer>& layers) {
  std::vector<float> out;
  for (const Nvfp4HostLayer& layer : layers) out.push_back(layer.global_scale);
  return out;
}

// ---- routing and activations

struct MoeRouting {
  std::int64_t m = 0;
  int topk = 1;
  std::vector<std::int32_t> ids;  // [m][topk]
  std::vector<float> weights;     // [m][topk], positive, each token's summing to ~1
};

// uniform: topk distinct experts per token, all equally likely. skewed: distinct, expert e drawn with weight
// 1/(e+1) (expert 0 hot, the tail nearly idle). idle_experts: uniform over a quarter of the experts (at least
// topk), the rest get nothing. one_expert: every token's first choice is one expert, the others uniform.
// with_invalid: uniform, then about one slot in eight replaced by an id outside [0, E) (-1 and E, at least one of
// each when there are two slots or more).
enum class RoutingKind { uniform, skewed, idle_experts, one_expert, with_invalid };

inline const char* routing_kind_name(RoutingKind kind) {
  switch (kind) {
    case RoutingKind::uniform:
      return "uniform";
    case RoutingKind::skewed:
      return "skewed";
    case RoutingKind::idle_experts:
      return "idle";
    case RoutingKind::one_expert:
      return "one_expert";
    case RoutingKind::with_invalid:
      return "invalid_ids";
  }
  return "?";
}

namespace moe_detail {

// An index drawn with probability ∝ its weight, from the weights' running sums (entry i: weights 0..i).
inline std::int32_t draw(TestRng& rng, const std::vector<double>& running_sums) {
  for (;;) {
    const double pick = rng.uniform() * running_sums.back();
    const auto it = std::upper_bound(running_sums.begin(), running_sums.end(), pick);
    if (it != running_sums.end()) return static_cast<std::int32_t>(it - running_sums.begin());
  }
}

// `count` distinct draws (repeats are drawn again); needs at least `count` positive weights.
inline void draw_distinct(TestRng& rng, const std::vector<double>& running_sums, int count, std::int32_t* out) {
  for (int j = 0; j < count;) {
    const std::int32_t pick = draw(rng, running_sums);
    if (std::find(out, out + j, pick) == out + j) out[j++] = pick;
  }
}

inline std::vector<double> running_sums(std::vector<double> weights) {
  for (std::size_t i = 1; i < weights.size(); ++i) weights[i] += weights[i - 1];
  return weights;
}

}  // namespace moe_detail

inline MoeRouting make_routing(std::int64_t m, int topk, std::int64_t experts, RoutingKind kind, std::uint64_t seed) {
  if (topk < 1 || topk > experts) throw std::invalid_argument("make_routing: need 1 <= topk <= experts");
  MoeRouting routing;
  routing.m = m;
  routing.topk = topk;
  routing.ids.resize(static_cast<std::size_t>(m * topk));
  routing.weights.resize(routing.ids.size());
  TestRng rng(seed);
  std::vector<double> popularity(static_cast<std::size_t>(experts), 1.0);
  if (kind == RoutingKind::skewed) {
    for (std::int64_t e = 0; e < experts; ++e)
      popularity[static_cast<std::size_t>(e)] = 1.0 / static_cast<double>(e + 1);
  } else if (kind == RoutingKind::idle_experts) {
    const std::int64_t active = std::max<std::int64_t>(topk, experts / 4);
    std::fill(popularity.begin() + active, popularity.end(), 0.0);
  }
  const auto hot = static_cast<std::int32_t>(rng.below(static_cast<unsigned>(experts)));
  const std::vector<double> all = moe_detail::running_sums(popularity);
  popularity[static_cast<std::size_t>(hot)] = 0;
  const std::vector<double> all_but_hot = moe_detail::running_sums(popularity);
  for (std::int64_t t = 0; t < m; ++t) {
    std::int32_t* ids = &routing.ids[static_cast<std::size_t>(t * topk)];
    if (kind == RoutingKind::one_expert) {
      ids[0] = hot;
      moe_detail::draw_distinct(rng, all_but_hot, topk - 1, ids + 1);
    } else {
      moe_detail::draw_distinct(rng, all, topk, ids);
    }
    float* weights = &routing.weights[static_cast<std::size_t>(t * topk)];
    float sum = 0;
    for (int j = 0; j < topk; ++j) {
      weights[j] = static_cast<float>(0.1 + rng.uniform());
      sum += weights[j];
    }
    for (int j = 0; j < topk; ++j) weights[j] /= sum;
  }
  if (kind == RoutingKind::with_invalid) {
    const std::size_t slots = routing.ids.size();
    for (std::size_t s = 0; s < slots; ++s) {
      if (rng.chance(0.125)) routing.ids[s] = rng.chance(0.5) ? -1 : static_cast<std::int32_t>(experts);
    }
    routing.ids[0] = -1;
    if (slots > 1) routing.ids[slots - 1] = static_cast<std::int32_t>(experts);
  }
  return routing;
}

// [m][hidden] activations N(0, 1), each exactly a bf16 and an fp16 (8 significant bits, |x| >= 2^-14), so one float64
// reference serves both dtypes; half_from_double gives their bits without rounding.
inline std::vector<double> moe_activations(std::int64_t m, std::int64_t hidden, std::uint64_t seed) {
  std::vector<double> x(static_cast<std::size_t>(m * hidden));
  parallel_for(m, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t t = begin; t < end; ++t) {
      TestRng rng(stream_seed(seed, static_cast<std::uint64_t>(t)));
      for (std::int64_t h = 0; h < hidden; ++h) {
        double value;
        do {
          value = bf16_to_double(bf16_from_double(rng.normal()));
        } while (std::fabs(value) < 0x1.0p-14);
        x[static_cast<std::size_t>(t * hidden + h)] = value;
      }
    }
  });
  return x;
}

inline std::vector<std::uint16_t> to_half_bits(const std::vector<double>& values, DType dtype) {
  std::vector<std::uint16_t> bits(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) bits[i] = half_from_double(values[i], dtype);
  return bits;
}

// ---- the layer

namespace moe_detail {

// Calls fn(task, scratch) for every task of [0, count) on up to 64 hardware threads that take tasks one at a time
// (skewed routing makes tasks uneven); scratch is one vector per thread, for decoded weight rows.
template <class Fn>
void parallel_tasks(std::int64_t count, Fn fn) {
  const std::int64_t threads = std::min<std::int64_t>(
      count, std::clamp<std::int64_t>(static_cast<std::int64_t>(std::thread::hardware_concurrency()), 1, 64));
  std::atomic<std::int64_t> next{0};
  const auto work = [&] {
    std::vector<double> scratch;
    for (std::int64_t task = next++; task < count; task = next++) fn(task, scratch);
  };
  std::vector<std::thread> workers;
  for (std::int64_t t = 1; t < threads; ++t) workers.emplace_back(work);
  if (count > 0) work();
  for (auto& worker : workers) worker.join();
}

inline double round_to(double value, const std::optional<DType>& dtype) {
  return dtype ? half_to_double(half_from_double(value, *dtype), *dtype) : value;
}

// value[16·scale byte + code] = e2m1 · e4m3 · global: exact in float64, or rounded once to `dtype`.
inline std::vector<double> weight_values(const Nvfp4HostLayer& layer, const std::optional<DType>& dtype) {
  std::vector<double> values(256 * 16);
  for (unsigned scale = 0; scale < 256; ++scale) {
    for (unsigned code = 0; code < 16; ++code) {
      values[16 * scale + code] =
          round_to(e2m1_to_double(static_cast<std::uint8_t>(code)) *
                       e4m3fn_to_double(static_cast<std::uint8_t>(scale)) * static_cast<double>(layer.global_scale),
                   dtype);
    }
  }
  return values;
}

inline void decode_row(const Nvfp4HostLayer& layer, const std::vector<double>& values, std::int64_t row, double* out) {
  for (std::int64_t block = 0; block < layer.k / 16; ++block) {
    const double* of_scale = &values[16 * static_cast<std::size_t>(layer.scale(row, block))];
    for (std::int64_t i = 0; i < 16; ++i) out[16 * block + i] = of_scale[layer.code(row, 16 * block + i)];
  }
}

inline double dot(const double* a, const double* b, std::int64_t n) {
  double sum[4] = {0, 0, 0, 0};
  std::int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (int j = 0; j < 4; ++j) sum[j] += a[i + j] * b[i + j];
  }
  for (; i < n; ++i) sum[0] += a[i] * b[i];
  return (sum[0] + sum[1]) + (sum[2] + sum[3]);
}

// What one reference pass shares between its phases.
struct MoePass {
  const MoeHostLayer& layer;
  bool bias;
  const std::optional<DType>& dtype;
  std::vector<std::vector<std::int64_t>> slots_of;  // per expert, its valid slots in order
  std::vector<std::int64_t> touched;                // experts with slots
  std::vector<std::vector<double>> w1_values, w2_values;
  static constexpr std::int64_t kRowsPerTask = 8;

  double bias1(std::int64_t e, std::int64_t row) const {
    return bias ? static_cast<double>(layer.w1_bias[static_cast<std::size_t>(e * layer.w1_rows() + row)]) : 0.0;
  }
  double bias2(std::int64_t e, std::int64_t row) const {
    return bias ? static_cast<double>(layer.w2_bias[static_cast<std::size_t>(e * layer.hidden + row)]) : 0.0;
  }
};

// intermediate[slot][i] = act(W1 · x + b1)_i for every valid slot, rounded to the dtype when emulating.
inline std::vector<double> reference_gemm1(const MoePass& pass, const std::vector<double>& x,
                                           const MoeRouting& routing) {
  const MoeHostLayer& layer = pass.layer;
  const std::int64_t H = layer.hidden, I = layer.intermediate,
                     tasks_per_expert = (I + pass.kRowsPerTask - 1) / pass.kRowsPerTask;
  std::vector<double> out(routing.ids.size() * static_cast<std::size_t>(I));
  parallel_tasks(static_cast<std::int64_t>(pass.touched.size()) * tasks_per_expert,
                 [&](std::int64_t task, std::vector<double>& w) {
                   const std::int64_t e = pass.touched[static_cast<std::size_t>(task / tasks_per_expert)];
                   const std::int64_t first = task % tasks_per_expert * pass.kRowsPerTask;
                   const Nvfp4HostLayer& w1 = layer.w1[static_cast<std::size_t>(e)];
                   w.resize(static_cast<std::size_t>(2 * H));
                   for (std::int64_t i = first; i < std::min(I, first + pass.kRowsPerTask); ++i) {
                     decode_row(w1, pass.w1_values[static_cast<std::size_t>(e)], i, w.data());  // gate, or the only row
                     if (layer.gated())
                       decode_row(w1, pass.w1_values[static_cast<std::size_t>(e)], I + i, w.data() + H);  // up
                     for (std::int64_t slot : pass.slots_of[static_cast<std::size_t>(e)]) {
                       const double* row = &x[static_cast<std::size_t>(slot / routing.topk * H)];
                       const double a = dot(row, w.data(), H) + pass.bias1(e, i);
                       double value;
                       if (layer.gated()) {
                         const double up = dot(row, w.data() + H, H) + pass.bias1(e, I + i);
                         value = a / (1.0 + std::exp(-a)) * up;
                       } else {
                         value = a > 0 ? a * a : 0.0;
                       }
                       out[static_cast<std::size_t>(slot * I + i)] = round_to(value, pass.dtype);
                     }
                   }
                 });
  return out;
}

// slot_rows[slot][h] = weight(slot) · (W2 · intermediate[slot] + b2)_h, rounded to the dtype when emulating.
inline std::vector<double> reference_gemm2(const MoePass& pass, const std::vector<double>& intermediate,
                                           const MoeRouting& routing) {
  const MoeHostLayer& layer = pass.layer;
  const std::int64_t H = layer.hidden, I = layer.intermediate,
                     tasks_per_expert = (H + pass.kRowsPerTask - 1) / pass.kRowsPerTask;
  std::vector<double> out(routing.ids.size() * static_cast<std::size_t>(H));
  parallel_tasks(static_cast<std::int64_t>(pass.touched.size()) * tasks_per_expert, [&](std::int64_t task,
                                                                                        std::vector<double>& w) {
    const std::int64_t e = pass.touched[static_cast<std::size_t>(task / tasks_per_expert)];
    const std::int64_t first = task % tasks_per_expert * pass.kRowsPerTask;
    w.resize(static_cast<std::size_t>(I));
    for (std::int64_t h = first; h < std::min(H, first + pass.kRowsPerTask); ++h) {
      decode_row(layer.w2[static_cast<std::size_t>(e)], pass.w2_values[static_cast<std::size_t>(e)], h, w.data());
      for (std::int64_t slot : pass.slots_of[static_cast<std::size_t>(e)]) {
        const double value = dot(&intermediate[static_cast<std::size_t>(slot * I)], w.data(), I) + pass.bias2(e, h);
        out[static_cast<std::size_t>(slot * H + h)] =
            round_to(static_cast<double>(routing.weights[static_cast<std::size_t>(slot)]) * value, pass.dtype);
      }
    }
  });
  return out;
}

}  // namespace moe_detail

// out[m][H] = Σ_j topk_weights[m][j] · Expert_{topk_ids[m][j]}(x[m]) over the ids inside [0, E) (nvfp4_moe.hpp's
// formula; `bias` false ignores the layer's biases, as a layer prepared without them). dtype unset: exact float64
// from the checkpoint values. dtype set: the least rounding a pipeline in that dtype must do — dequantized weights
// rounded to it, each intermediate value rounded once after the activation, each weighted slot row rounded, the
// top-k rows summed exactly and the sum rounded — the bar the kernels are held to. Only touched experts are read.
inline std::vector<double> moe_reference(const MoeHostLayer& layer, bool bias, const std::vector<double>& x,
                                         const MoeRouting& routing, std::optional<DType> dtype = std::nullopt) {
  if (static_cast<std::int64_t>(x.size()) != routing.m * layer.hidden ||
      static_cast<std::int64_t>(routing.ids.size()) != routing.m * routing.topk ||
      routing.weights.size() != routing.ids.size() || (bias && (layer.w1_bias.empty() || layer.w2_bias.empty()))) {
    throw std::invalid_argument("moe_reference: sizes do not match the layer and routing");
  }
  moe_detail::MoePass pass{layer, bias, dtype, {}, {}, {}, {}};
  pass.slots_of.resize(static_cast<std::size_t>(layer.experts));
  for (std::size_t s = 0; s < routing.ids.size(); ++s) {
    const std::int32_t id = routing.ids[s];
    if (id >= 0 && id < layer.experts)
      pass.slots_of[static_cast<std::size_t>(id)].push_back(static_cast<std::int64_t>(s));
  }
  pass.w1_values.resize(static_cast<std::size_t>(layer.experts));
  pass.w2_values.resize(static_cast<std::size_t>(layer.experts));
  for (std::int64_t e = 0; e < layer.experts; ++e) {
    if (pass.slots_of[static_cast<std::size_t>(e)].empty()) continue;
    pass.touched.push_back(e);
    pass.w1_values[static_cast<std::size_t>(e)] =
        moe_detail::weight_values(layer.w1[static_cast<std::size_t>(e)], dtype);
    pass.w2_values[static_cast<std::size_t>(e)] =
        moe_detail::weight_values(layer.w2[static_cast<std::size_t>(e)], dtype);
  }
  const std::vector<double> slot_rows =
      moe_detail::reference_gemm2(pass, moe_detail::reference_gemm1(pass, x, routing), routing);
  const std::int64_t H = layer.hidden;
  std::vector<double> out(static_cast<std::size_t>(routing.m * H), 0.0);
  parallel_for(routing.m, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t t = begin; t < end; ++t) {
      for (std::int64_t h = 0; h < H; ++h) {
        double sum = 0;
        for (std::int64_t j = 0; j < routing.topk; ++j) {
          const std::int64_t slot = t * routing.topk + j;
          const std::int32_t id = routing.ids[static_cast<std::size_t>(slot)];
          if (id >= 0 && id < layer.experts) sum += slot_rows[static_cast<std::size_t>(slot * H + h)];
        }
        out[static_cast<std::size_t>(t * H + h)] = moe_detail::round_to(sum, dtype);
      }
    }
  });
  return out;
}

}  // namespace marlin_jit::test
