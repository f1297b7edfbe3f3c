// mj_problem_init, mj_check (the dispatcher's rules) and mj_catalog (every spec the dispatcher can pick).
#include <optional>

#include "c_api/boundary.hpp"
#include "c_api/enums.hpp"
#include "marlin_jit/catalog.hpp"
#include "marlin_jit/dispatch.hpp"
#include "marlin_jit/kernel_spec.hpp"

namespace marlin_jit::c_api {
namespace {

std::optional<std::int64_t> size_or_unset(std::int64_t value) {
  return value == MJ_UNSET ? std::nullopt : std::optional<std::int64_t>(value);
}

ProblemSpec to_problem(const mj_problem& given) {
  require_struct_size(given.struct_size, sizeof(mj_problem), "problem");
  ProblemSpec problem;
  problem.kind = to_kind(given.kind, "problem.kind");
  problem.quant = to_quant(given.quant, "problem.quant");
  problem.group_size = given.group_size;
  problem.dtype = to_dtype(given.dtype, "problem.dtype");
  problem.sm = given.sm;
  problem.m = size_or_unset(given.m);
  problem.n = size_or_unset(given.n);
  problem.k = size_or_unset(given.k);
  problem.activation = to_activation(given.activation, "problem.activation");
  problem.hidden = size_or_unset(given.hidden);
  problem.intermediate = size_or_unset(given.intermediate);
  problem.experts = size_or_unset(given.experts);
  problem.topk = size_or_unset(given.topk);
  return problem;
}

}  // namespace
}  // namespace marlin_jit::c_api

using namespace marlin_jit::c_api;

extern "C" {

void mj_problem_init(mj_problem* problem) {
  if (problem == nullptr) return;
  marlin_jit::ProblemSpec defaults;
  *problem = mj_problem{};
  problem->struct_size = sizeof(mj_problem);
  problem->kind = static_cast<mj_kernel_kind>(defaults.kind);
  problem->quant = static_cast<mj_quant>(defaults.quant);
  problem->group_size = defaults.group_size;
  problem->dtype = static_cast<mj_dtype>(defaults.dtype);
  problem->sm = defaults.sm;
  problem->activation = static_cast<mj_activation>(defaults.activation);
  problem->m = problem->n = problem->k = MJ_UNSET;
  problem->hidden = problem->intermediate = problem->experts = problem->topk = MJ_UNSET;
}

mj_status mj_check(const mj_problem* problem) {
  return guarded([&] { marlin_jit::check_supported(to_problem(require(problem, "problem"))); });
}

mj_status mj_catalog(int sm, mj_spec_visitor visit, void* user_data) {
  return guarded([&] {
    if (visit == nullptr) refuse_argument("visit", "must not be NULL");
    marlin_jit::CatalogFilter filter;
    if (sm != 0) {
      marlin_jit::check_sm(sm);
      filter.sms.push_back(sm);
    }
    for (const marlin_jit::KernelSpec& spec : marlin_jit::catalog_specs(filter)) {
      visit(user_data, marlin_jit::to_string(spec).c_str());
    }
  });
}

}  // extern "C"
