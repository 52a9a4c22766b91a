// What the bad-input, TLS and secrets tests check of a failed pgoutbox run:
// its output as lines, exactly one clear error line, nothing created on the
// server; and a loopback port nothing listens on, to point a client at.
//
// Failures are gtest failures, never exceptions.
#pragma once

#include <string>
#include <vector>

#include "integration/harness.h"

namespace pgoutbox::testing {

// `text` split at newlines.
std::vector<std::string> Lines(const std::string& text);

// A line that reports a failure: spdlog's "error"/"critical" level, or a
// usage error printed before logging starts ("pgoutbox: ...").
bool IsErrorLine(const std::string& line);

// Exactly one error line, and it contains every one of `phrases`.
void ExpectOneClearLine(const std::string& output, const std::vector<std::string>& phrases);

// No replication slot and no publication exist on the harness's server.
void ExpectNothingCreated(const Harness& h);

// A loopback port nothing listens on (1 if none could be found).
int ClosedPort();

}  // namespace pgoutbox::testing
