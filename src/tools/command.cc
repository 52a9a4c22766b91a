#include "tools/command.h"

#include <signal.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

namespace pgoutbox::tools {

namespace {

// The one piece of process-global state: what a signal handler may touch.
volatile sig_atomic_t g_stop = 0;
void OnStopSignal(int) { g_stop = 1; }

}  // namespace

int Fail(const Status& status) {
  std::fprintf(stderr, "pgoutbox-bench: %s\n", status.ToString().c_str());
  return 1;
}

void CatchStopSignals() {
  signal(SIGTERM, OnStopSignal);
  signal(SIGINT, OnStopSignal);
}

bool StopRequested() { return g_stop != 0; }

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream f(path);
  if (!f) return Status::NotFound("cannot read " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::trunc);
  f << text;
  f.close();
  if (!f) return Status::Internal("cannot write " + path);
  return Status::Ok();
}

std::string UtcNow() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

}  // namespace pgoutbox::tools
