// posix_spawn + pipes + poll: keeps up to `jobs` workers running, drains their output as it comes (so a chatty
// worker never blocks on a full pipe), and reaps each one when both its pipes close. Pipes are O_CLOEXEC, so a
// worker inherits only its own two.
#include "worker_pool.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <list>

extern char** environ;

namespace marlin_jit::cli {
namespace {

struct Running {
  std::size_t index = 0;
  pid_t pid = -1;
  int out_fd = -1, err_fd = -1;
  WorkerResult result;
};

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

bool spawn(const std::vector<std::string>& command, Running& worker) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return false;
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    return false;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
  std::vector<char*> argv;
  for (std::size_t i = 1; i < command.size(); ++i) argv.push_back(const_cast<char*>(command[i].c_str()));
  argv.push_back(nullptr);
  int status = posix_spawn(&worker.pid, command[0].c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  ::close(err[1]);
  if (status != 0) {
    ::close(out[0]);
    ::close(err[0]);
    worker.result.err = "cannot start " + command[0] + ": " + std::to_string(status);
    return false;
  }
  worker.out_fd = out[0];
  worker.err_fd = err[0];
  return true;
}

// Reads what is available; closes the fd at end of file.
void drain(int& fd, std::string& sink) {
  char buffer[4096];
  ssize_t n = ::read(fd, buffer, sizeof(buffer));
  if (n > 0) {
    sink.append(buffer, static_cast<std::size_t>(n));
  } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
    close_fd(fd);
  }
}

int reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return 1;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace

void run_workers(const std::vector<std::vector<std::string>>& commands, int jobs,
                 const std::function<void(std::size_t, const WorkerResult&)>& on_done,
                 const std::function<void()>& on_tick) {
  std::list<Running> running;
  std::size_t next = 0;
  const std::size_t limit = static_cast<std::size_t>(jobs < 1 ? 1 : jobs);
  while (next < commands.size() || !running.empty()) {
    while (next < commands.size() && running.size() < limit) {
      Running worker;
      worker.index = next++;
      if (spawn(commands[worker.index], worker)) {
        running.push_back(std::move(worker));
      } else {
        worker.result.exit_code = 127;
        on_done(worker.index, worker.result);
      }
    }
    std::vector<pollfd> fds;
    for (const Running& worker : running) {
      if (worker.out_fd >= 0) fds.push_back({worker.out_fd, POLLIN, 0});
      if (worker.err_fd >= 0) fds.push_back({worker.err_fd, POLLIN, 0});
    }
    if (!fds.empty()) ::poll(fds.data(), fds.size(), 200);
    for (auto it = running.begin(); it != running.end();) {
      for (const pollfd& fd : fds) {
        if (fd.revents == 0) continue;
        if (fd.fd == it->out_fd) drain(it->out_fd, it->result.out);
        if (fd.fd == it->err_fd) drain(it->err_fd, it->result.err);
      }
      if (it->out_fd < 0 && it->err_fd < 0) {
        it->result.exit_code = reap(it->pid);
        on_done(it->index, it->result);
        it = running.erase(it);
      } else {
        ++it;
      }
    }
    if (on_tick) on_tick();
  }
}

}  // namespace marlin_jit::cli
