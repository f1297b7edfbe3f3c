// The float64 reference of a dense layer, out[m][n] = Σ_k a[m][k]·w[n][k] (+ bias[n]), and the relative L2 error
// that tests judge results by. CPU only, threaded; meant for M·N·K up to ~1e9 (beyond, GPU tests use cuBLAS DGEMM).
#pragma once

#include <cmath>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "nvfp4_checkpoint.hpp"

namespace marlin_jit::test {

// Above this many multiply-adds GPU tests take the float64 reference from cuBLAS DGEMM instead (a fraction of a
// second on 16 cores here, even in an unoptimised build; DGEMM's agreement with this reference is itself tested).
inline constexpr double kCpuReferenceMaxMacs = 5e8;

// a: [m][k], w: [n][k] (a dequantized checkpoint), bias: [n] or empty. Returns [m][n] row-major.
inline std::vector<double> reference_gemm(const std::vector<double>& a, const std::vector<double>& w,
                                          const std::vector<double>& bias, std::int64_t m, std::int64_t n,
                                          std::int64_t k) {
  if (static_cast<std::int64_t>(a.size()) != m * k || static_cast<std::int64_t>(w.size()) != n * k ||
      !(bias.empty() || static_cast<std::int64_t>(bias.size()) == n)) {
    throw std::invalid_argument("reference_gemm: operand sizes do not match m, n, k");
  }
  std::vector<double> out(static_cast<std::size_t>(m * n));
  parallel_for(m * n, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t index = begin; index < end; ++index) {
      const double* a_row = &a[static_cast<std::size_t>((index / n) * k)];
      const double* w_row = &w[static_cast<std::size_t>((index % n) * k)];
      double sum[4] = {0, 0, 0, 0};  // four independent chains; float64 makes the order immaterial here
      std::int64_t i = 0;
      for (; i + 4 <= k; i += 4) {
        for (int j = 0; j < 4; ++j) sum[j] += a_row[i + j] * w_row[i + j];
      }
      for (; i < k; ++i) sum[0] += a_row[i] * w_row[i];
      double total = (sum[0] + sum[1]) + (sum[2] + sum[3]);
      if (!bias.empty()) total += bias[static_cast<std::size_t>(index % n)];
      out[static_cast<std::size_t>(index)] = total;
    }
  });
  return out;
}

// ‖out − ref‖₂ and ‖ref‖₂ accumulated over some set of elements. rel() is their ratio, or ‖out − ref‖₂ itself when
// the reference is exactly zero there (so an all-zero region must come out exactly zero).
struct L2Error {
  double diff_sq = 0;
  double ref_sq = 0;
  double rel() const { return ref_sq > 0 ? std::sqrt(diff_sq / ref_sq) : std::sqrt(diff_sq); }
  void add(double out, double ref) {
    diff_sq += (out - ref) * (out - ref);
    ref_sq += ref * ref;
  }
  void merge(const L2Error& other) {
    diff_sq += other.diff_sq;
    ref_sq += other.ref_sq;
  }
};

inline double relative_l2_error(const std::vector<double>& out, const std::vector<double>& ref) {
  if (out.size() != ref.size()) throw std::invalid_argument("relative_l2_error: sizes differ");
  L2Error error;
  for (std::size_t i = 0; i < out.size(); ++i) error.add(out[i], ref[i]);
  return error.rel();
}

// The error of a [rows][cols] output held as dtype bits, per column class (col % classes) and, as the last entry,
// over the whole matrix. A NaN or infinite output makes every error it touches infinite.
inline std::vector<L2Error> l2_error_by_column_class(const std::vector<std::uint16_t>& out_bits, DType dtype,
                                                     const std::vector<double>& ref, std::int64_t rows,
                                                     std::int64_t cols, int classes) {
  if (out_bits.size() < ref.size() || static_cast<std::int64_t>(ref.size()) != rows * cols || classes < 1) {
    throw std::invalid_argument("l2_error_by_column_class: sizes do not match");
  }
  std::vector<L2Error> total(static_cast<std::size_t>(classes) + 1);
  std::mutex mutex;
  parallel_for(rows, [&](std::int64_t begin, std::int64_t end) {
    std::vector<L2Error> local(static_cast<std::size_t>(classes));
    for (std::int64_t row = begin; row < end; ++row) {
      for (std::int64_t col = 0; col < cols; ++col) {
        const auto index = static_cast<std::size_t>(row * cols + col);
        double out = half_to_double(out_bits[index], dtype);
        if (!std::isfinite(out)) out = std::numeric_limits<double>::infinity();
        local[static_cast<std::size_t>(col % classes)].add(out, ref[index]);
      }
    }
    const std::lock_guard lock(mutex);
    for (std::size_t c = 0; c < local.size(); ++c) total[c].merge(local[c]);
  });
  for (int c = 0; c < classes; ++c) total.back().merge(total[static_cast<std::size_t>(c)]);
  return total;
}

}  // namespace marlin_jit::test
