#include "integration/harness.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

namespace pgoutbox::testing {

Harness::Harness(int brokers, const PgServerOptions& options) {
  pg = PgServer::Start(options);
  kafka = MockKafka::Start(brokers);
  if (pg != nullptr) pg->CreateDatabase(db);
}

void Harness::CreateOutboxTable(const std::string& table) {
  std::ifstream in(std::string(PGOUTBOX_SOURCE_DIR) + "/sql/outbox.sql");
  ASSERT_TRUE(in.good()) << "sql/outbox.sql not found";
  std::stringstream sql;
  sql << in.rdbuf();
  std::string text = sql.str();
  if (table != "public.outbox") {
    // The canonical file names public.outbox; create the same shape elsewhere.
    for (size_t pos = 0; (pos = text.find("public.outbox", pos)) != std::string::npos;) {
      text.replace(pos, 13, table);
      pos += table.size();
    }
    for (size_t pos = 0; (pos = text.find("outbox_created_at_idx", pos)) != std::string::npos;) {
      std::string idx = table.substr(table.find('.') + 1) + "_created_at_idx";
      text.replace(pos, 21, idx);
      pos += idx.size();
    }
  }
  ASSERT_TRUE(Exec(text));
}

std::vector<std::string> Harness::Args(const std::vector<std::string>& extra) const {
  std::vector<std::string> argv = {PgoutboxBinary(), "run", "--db", pg->ConnInfo(db), "--brokers",
                                   kafka->bootstraps(), "--slot", slot, "--publication",
                                   publication, "--feedback-interval", "200ms",
                                   // Tests run in parallel: never the fixed default port.
                                   "--http-addr", "127.0.0.1:0"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

std::vector<std::string> Harness::ArgsWith(const std::string& flag, const std::string& value,
                                           const std::vector<std::string>& extra) const {
  std::vector<std::string> argv = Args(extra);
  SetFlag(&argv, flag, value);
  return argv;
}

std::unique_ptr<ChildProcess> Harness::Start(const std::vector<std::string>& extra) {
  return ChildProcess::Start(Args(extra));
}

int Harness::RunToEnd(const std::vector<std::string>& extra, std::chrono::milliseconds timeout,
                      std::string* output) {
  return RunToExit(Args(extra), output, timeout);
}

std::string Harness::CurrentWalLsn() const { return QueryValue("SELECT pg_current_wal_lsn()"); }

bool Harness::WaitForConfirmed(const std::string& lsn, std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::string confirmed = ConfirmedLsn();
    if (!confirmed.empty() && CompareLsn(confirmed, lsn) >= 0) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void SetFlag(std::vector<std::string>* argv, const std::string& flag, const std::string& value) {
  auto it = std::find(argv->begin(), argv->end(), flag);
  if (it != argv->end() && it + 1 != argv->end()) {
    *(it + 1) = value;
  } else {
    argv->push_back(flag);
    argv->push_back(value);
  }
}

int RunToExit(const std::vector<std::string>& argv, std::string* output,
              std::chrono::milliseconds timeout, const std::vector<std::string>& env) {
  auto child = ChildProcess::Start(argv, env);
  if (child == nullptr) return -1;
  auto code = child->Wait(timeout);
  if (output != nullptr) *output = child->Output();
  if (!code) {
    ADD_FAILURE() << argv.front() << " did not exit within " << timeout.count() << " ms:\n"
                  << child->Output();
    return -1;
  }
  return *code;
}

bool WaitForOutput(ChildProcess& child, const std::string& text,
                   std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (child.Output().find(text) == std::string::npos) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

}  // namespace pgoutbox::testing
