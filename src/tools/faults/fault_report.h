// FaultReport: the fault suite's printout (scripts/faults.sh, `pgoutbox-bench
// check`): a description of the run (the workload's figures, the faults and
// when they happened, pgoutbox's own exits) followed by the checker's
// figures and verdict (fault_check.h). Pure functions over what the script
// and the other tools recorded.
//
// Thread safety: none needed (values in, text out).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/types.h"
#include "tools/faults/fault_check.h"

namespace pgoutbox::faults {

// An exit of pgoutbox that the suite did not cause, with the last error
// line of its log ("" if none).
struct UnexpectedExit {
  int status = 0;
  std::string message;
};

// How the run went, as faults.sh planned and observed it.
struct FaultRun {
  std::string mode;        // "quick" or "full"
  std::string invocation;  // the command line that plans the same run
  std::string date;        // "2026-12-06 23:30 UTC"
  std::string commit;
  int64_t elapsed_s = 0;
  std::string workload;  // `pgoutbox-bench workload`'s key=value line
  int connections = 0;
  int keys = 0;   // per aggregate type (two types)
  int kills = 0;  // SIGKILLs planned (0: left out)
  int kills_done = 0;
  std::vector<int64_t> kill_pauses_ms;
  int outage_s = 0;  // 0: left out
  bool pg_restarts = true;
  int error_percent = 0;  // 0: left out
  int errors_from = 0;    // the SIGKILLs the produce errors run between
  int errors_to = 0;
  bool pipelined_errors = false;
  std::string kafka_stats;        // the mock cluster's "stats" answer, key=value
  std::vector<FaultEvent> marks;  // every fault line, faults.tsv then other-faults.tsv
  int64_t start_ms = 0;           // the workload's start, Unix ms
  std::vector<UnexpectedExit> exits;
};

// Where the slot got to.
struct Positions {
  Lsn confirmed;
  Lsn end;  // the server's WAL position when the workload ended
  std::optional<Lsn> wal;
};

// "a=1 b=x" -> {a: 1, b: x}; words without '=' are skipped.
std::map<std::string, std::string> ParseKeyValues(std::string_view line);

// The last line of a pgoutbox log that holds " error " or " critical ",
// without its first two words (time stamp, level); "" if none.
std::string LastErrorMessage(std::string_view log);

// The description of the run: the lines from "pgoutbox fault suite, ..." to
// "pgoutbox exits not by SIGKILL N" and one line per such exit.
std::string RenderRun(const FaultRun& run);

// The checker's figures and the verdict line ("verdict ... PASS" or "FAIL").
// Times of faults are shown from `start_ms`.
std::string RenderCheck(const CheckReport& report, const Positions& positions, int64_t start_ms);

// Whether the run passes: the report is ok() and the slot confirmed the end.
bool Passed(const CheckReport& report, const Positions& positions);

}  // namespace pgoutbox::faults
