// Measurement: what `pgoutbox-bench measure` found out about one run of a
// command (wall time, CPU, peak RSS), and the figures per event the
// benchmark derives from it. Also reads the time stamp of pgoutbox's log
// lines, so a run can end at a line ("confirmed position ...") rather than
// at the process's exit, which includes the teardown. Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pgoutbox::bench {

struct Measurement {
  double wall_s = 0;  // from fork to exit
  double user_s = 0;
  double sys_s = 0;
  long maxrss_kb = 0;
  int exit = 0;                   // the status, 128 + signal if killed
  double start_unix_s = 0;        // when it was started, Unix seconds
  std::optional<double> until_s;  // from the start to a log line, if asked
};

// The Unix time of a log line that starts with pgoutbox's time stamp,
// "2026-12-06T23:30:57.123+00:00 info ..." (ISO 8601, milliseconds, UTC
// offset as +HH:MM or +HHMM); nullopt if the line does not start with one.
std::optional<double> ParseLogTime(std::string_view line);

// The time stamp of the last line of `text` that contains `needle`; nullopt
// if there is none or it has no time stamp.
std::optional<double> LastLineTime(std::string_view text, std::string_view needle);

// One line of key=value pairs: wall_s user_s sys_s maxrss_kb exit
// start_unix_s, then until_s when known, and when `events` > 0 the figures
// per event: events_per_s (over until_s if known, else wall_s),
// cpu_s_per_100k and maxrss_mib. Ends with a newline.
std::string FormatMeasurement(const Measurement& m, uint64_t events);

}  // namespace pgoutbox::bench
