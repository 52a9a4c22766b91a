#include "support/child_process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

extern char** environ;

namespace pgoutbox::testing {
namespace {

constexpr int kOutputTailLines = 200;

std::string LastLines(const std::string& text, int lines) {
  size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;
  for (int i = 0; i < lines && pos > 0; ++i) {
    size_t nl = text.rfind('\n', pos - 1);
    if (nl == std::string::npos) return text;
    pos = nl;
  }
  return pos == 0 ? text : text.substr(pos + 1);
}

}  // namespace

struct ChildProcess::State {
  pid_t pid = -1;
  std::string program;
  std::string output_path;
  bool reaped = false;
  int exit_code = -1;

  // Records the exit status if the child has ended; returns whether it has.
  bool Reap(bool block) {
    if (reaped) return true;
    int status = 0;
    pid_t r;
    do {
      r = waitpid(pid, &status, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0) return false;
    reaped = true;
    if (r < 0) {
      exit_code = -1;  // somebody else reaped it; nothing more to learn
    } else if (WIFEXITED(status)) {
      exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      exit_code = 128 + WTERMSIG(status);
    }
    return true;
  }
};

std::unique_ptr<ChildProcess> ChildProcess::Start(const std::vector<std::string>& argv,
                                                  const std::vector<std::string>& env) {
  if (argv.empty()) {
    ADD_FAILURE() << "ChildProcess::Start: empty argv";
    return nullptr;
  }
  // Everything the child needs is built before fork(): after it, in a
  // multi-threaded parent, only async-signal-safe calls are allowed.
  std::map<std::string, std::string> merged;
  std::vector<std::string> order;
  auto put = [&](const std::string& entry) {
    std::string name = entry.substr(0, entry.find('='));
    if (merged.emplace(name, entry).second) {
      order.push_back(name);
    } else {
      merged[name] = entry;
    }
  };
  for (char** e = environ; *e != nullptr; ++e) put(*e);
  for (const auto& entry : env) put(entry);
  std::vector<std::string> env_strings;
  for (const auto& name : order) env_strings.push_back(merged[name]);
  std::vector<char*> cenv;
  for (auto& s : env_strings) cenv.push_back(s.data());
  cenv.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);

  char path[] = "/tmp/pgoutbox-child-XXXXXX";
  int out_fd = mkostemp(path, O_CLOEXEC);
  if (out_fd < 0) {
    ADD_FAILURE() << "mkostemp: " << strerror(errno);
    return nullptr;
  }
  // The child reports a failed exec through this pipe; a successful exec
  // closes it (O_CLOEXEC) and the parent reads EOF.
  int err_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2: " << strerror(errno);
    close(out_fd);
    unlink(path);
    return nullptr;
  }

  pid_t pid = fork();
  if (pid < 0) {
    ADD_FAILURE() << "fork: " << strerror(errno);
    close(out_fd);
    close(err_pipe[0]);
    close(err_pipe[1]);
    unlink(path);
    return nullptr;
  }
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(out_fd, 1);
    dup2(out_fd, 2);
    // Keep only the error pipe open beyond stdio.
    int keep = err_pipe[1];
    if (keep > 3) close_range(3, static_cast<unsigned>(keep) - 1, 0);
    if (close_range(static_cast<unsigned>(keep) + 1, ~0U, 0) != 0) {
      for (int fd = 3; fd < 4096; ++fd) {
        if (fd != keep) close(fd);
      }
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execvpe(cargv[0], cargv.data(), cenv.data());
    int e = errno;
    ssize_t ignored = write(keep, &e, sizeof(e));
    (void)ignored;
    _exit(127);
  }
  close(out_fd);
  close(err_pipe[1]);
  int exec_errno = 0;
  ssize_t n;
  do {
    n = read(err_pipe[0], &exec_errno, sizeof(exec_errno));
  } while (n < 0 && errno == EINTR);
  close(err_pipe[0]);

  std::unique_ptr<ChildProcess> child(new ChildProcess());
  child->state_ = std::make_unique<State>();
  child->state_->pid = pid;
  child->state_->program = argv[0];
  child->state_->output_path = path;
  if (n == static_cast<ssize_t>(sizeof(exec_errno))) {
    ADD_FAILURE() << "cannot execute " << argv[0] << ": " << strerror(exec_errno);
    return nullptr;  // the destructor reaps the child and removes the file
  }
  return child;
}

ChildProcess::~ChildProcess() {
  if (!state_) return;
  if (!state_->Reap(false)) {
    kill(state_->pid, SIGKILL);
    state_->Reap(true);
  }
  if (::testing::Test::HasFailure()) {
    std::string out = Output();
    if (!out.empty()) {
      std::cerr << "---- output of " << state_->program << " (pid " << state_->pid << ", last "
                << kOutputTailLines << " lines) ----\n"
                << LastLines(out, kOutputTailLines) << "\n---- end of output ----\n";
    }
  }
  unlink(state_->output_path.c_str());
}

int ChildProcess::pid() const { return state_->pid; }

bool ChildProcess::Running() { return !state_->Reap(false); }

void ChildProcess::Signal(int signo) {
  if (!state_->Reap(false)) kill(state_->pid, signo);
}

std::optional<int> ChildProcess::Wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!state_->Reap(false)) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return state_->exit_code;
}

std::string ChildProcess::Output() const {
  std::ifstream in(state_->output_path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string PgoutboxBinary() { return PGOUTBOX_BINARY; }

}  // namespace pgoutbox::testing
