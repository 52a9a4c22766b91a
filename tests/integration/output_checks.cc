#include "integration/output_checks.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <iostream>
#include <sstream>

namespace pgoutbox::testing {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool IsErrorLine(const std::string& line) {
  return line.find(" error ") != std::string::npos ||
         line.find(" critical ") != std::string::npos || line.rfind("pgoutbox: ", 0) == 0;
}

void ExpectOneClearLine(const std::string& output, const std::vector<std::string>& phrases) {
  std::vector<std::string> errors;
  for (const auto& line : Lines(output)) {
    if (IsErrorLine(line)) errors.push_back(line);
  }
  ASSERT_EQ(errors.size(), 1u) << "expected one error line, output:\n" << output;
  std::cerr << "error line: " << errors[0] << "\n";
  for (const auto& phrase : phrases) {
    EXPECT_NE(errors[0].find(phrase), std::string::npos)
        << "the error line does not mention \"" << phrase << "\":\n"
        << errors[0];
  }
}

void ExpectNothingCreated(const Harness& h) {
  EXPECT_EQ(h.QueryValue("SELECT count(*) FROM pg_replication_slots"), "0")
      << "a replication slot was created: "
      << h.QueryValue("SELECT string_agg(slot_name, ', ') FROM pg_replication_slots");
  EXPECT_EQ(h.QueryValue("SELECT count(*) FROM pg_publication"), "0")
      << "a publication was created: "
      << h.QueryValue("SELECT string_agg(pubname, ', ') FROM pg_publication");
}

int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

}  // namespace pgoutbox::testing
