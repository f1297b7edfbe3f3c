// Runs commands as child processes (posix_spawn), at most `jobs` at a time, capturing each one's stdout and
// stderr. NVRTC compiles scale with processes, not threads, so precompile fans out through here.
// Callbacks run on the calling thread. A command that cannot be spawned reports exit code 127.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace marlin_jit::cli {

struct WorkerResult {
  int exit_code = 0;  // 128 + signal when a signal ended it
  std::string out, err;
};

// commands[i][0] is the program path; argv[0] is the rest's program name. `on_tick` is called at least every
// 200 ms while workers run (for a progress bar); `on_done` once per command, in completion order.
void run_workers(const std::vector<std::vector<std::string>>& commands, int jobs,
                 const std::function<void(std::size_t index, const WorkerResult& result)>& on_done,
                 const std::function<void()>& on_tick);

}  // namespace marlin_jit::cli
