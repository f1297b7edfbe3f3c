// `marlin-jit check`: runs the dispatcher's rules on one configuration and prints `supported` (exit 0), or the
// refusing rule and its reason on stderr (exit 2). Compiles nothing and needs no GPU.
#include <iostream>

#include "cli_common.hpp"
#include "marlin_jit/dispatch.hpp"
#include "marlin_jit/error.hpp"

namespace marlin_jit::cli {
namespace {

struct CheckArgs {
  std::string arch, quant, dtype = "bf16", kind = "dense", activation = "silu_gated";
  int group_size = 0;
  std::optional<std::int64_t> m, n, k, experts, topk, hidden, intermediate;
};

int run_check(const CommonOptions& options, const CheckArgs& args) {
  ProblemSpec problem;
  problem.kind = parse_kind_or_usage(args.kind);
  problem.sm = parse_arch(args.arch);
  problem.quant = parse_quant_or_usage(args.quant);
  problem.dtype = parse_dtype_or_usage(args.dtype);
  problem.group_size = args.group_size;
  problem.m = args.m;
  problem.n = args.n;
  problem.k = args.k;
  problem.experts = args.experts;
  problem.topk = args.topk;
  problem.hidden = args.hidden;
  problem.intermediate = args.intermediate;
  problem.activation = parse_activation_or_usage(args.activation);
  try {
    check_supported(problem);
  } catch (const ConfigError& error) {
    if (options.json) {
      print_json({{"supported", false},
                  {"rule", error.rule()},
                  {"value", error.value()},
                  {"allowed", error.allowed()},
                  {"message", error.what()}});
    }
    std::cerr << "not supported: " << error.what() << "\n";
    return kExitUsage;
  }
  if (options.json) {
    print_json({{"supported", true}});
  } else {
    std::cout << "supported\n";
  }
  return kExitOk;
}

}  // namespace

void add_check_command(CLI::App& app, CommandRun& run) {
  auto options = std::make_shared<CommonOptions>();
  auto args = std::make_shared<CheckArgs>();
  CLI::App* command = app.add_subcommand("check", "Run the dispatcher's rules on one configuration");
  command->add_option("--arch", args->arch, "Target, e.g. sm_90")->required();
  command->add_option("--quant", args->quant, "nvfp4, mxfp4, uint4b8, uint4 or uint8b128")->required();
  command->add_option("--group-size", args->group_size, "Quantization group size (-1: per channel)")
      ->required()
      ->check(non_empty());
  command->add_option("--dtype", args->dtype, "Activation dtype: fp16 or bf16 (default bf16)");
  command->add_option("--kind", args->kind, "dense, moe or prep (default dense)");
  command->add_option("--m", args->m, "Rows of the activations");
  command->add_option("--n", args->n, "Output columns");
  command->add_option("--k", args->k, "Reduction size");
  command->add_option("--experts", args->experts, "MoE: experts in the layer");
  command->add_option("--topk", args->topk, "MoE: experts per token");
  command->add_option("--hidden", args->hidden, "MoE: hidden size H");
  command->add_option("--intermediate", args->intermediate, "MoE: intermediate size I of one expert");
  command->add_option("--activation", args->activation, "MoE: silu_gated (default) or relu2");
  add_common_options(*command, *options);
  command->callback([options, args, &run] {
    options->apply_log_level();
    run = [options, args] { return run_check(*options, *args); };
  });
}

}  // namespace marlin_jit::cli
