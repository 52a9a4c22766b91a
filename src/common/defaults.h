// The defaults of pgoutbox's settings, each defined once: the flags show
// them in --help and in the README's generated flag table, the option
// structs of every layer start from them, and `setup` writes the default
// names into sql/ (whose files spell the same names).
//
// Constants only; no code.
#pragma once

#include <chrono>
#include <string_view>

namespace pgoutbox::defaults {

using std::chrono::milliseconds;

// Names.
inline constexpr std::string_view kTable = "public.outbox";
inline constexpr std::string_view kPublication = "pgoutbox";
inline constexpr std::string_view kSlot = "pgoutbox";
inline constexpr std::string_view kRole = "pgoutbox";

// Kafka.
inline constexpr std::string_view kTopicTemplate = "outbox.event.{aggregate_type}";
inline constexpr std::string_view kDeadLetterTopic = "outbox.dlq";
// Logical decoding messages: the prefix of the application's events
// (pg_logical_emit_message), and the one of pgoutbox's own heartbeat, which
// is never an event.
inline constexpr std::string_view kMessagePrefix = "pgoutbox";
inline constexpr std::string_view kHeartbeatPrefix = "pgoutbox.heartbeat";

// Streaming.
inline constexpr milliseconds kFeedbackInterval{1000};
inline constexpr milliseconds kStartupTimeout{10000};
inline constexpr milliseconds kShutdownTimeout{30000};
inline constexpr milliseconds kStandbyRetryInterval{2000};
inline constexpr milliseconds kLogSummaryInterval{30000};
inline constexpr milliseconds kHeartbeatInterval{0};  // off

// Failover: the state topic (core/delivery_state.h) and how often a
// delivered mark is taken.
inline constexpr std::string_view kStateTopic = "pgoutbox.state";
inline constexpr milliseconds kMarkInterval{5000};
// How often a start decided again while running (a takeover, a slot that
// vanished) retries when the server or the brokers cannot be reached.
inline constexpr milliseconds kReplanRetryInterval{5000};

// Observation.
inline constexpr std::string_view kHttpAddr = "127.0.0.1:9187";
inline constexpr milliseconds kStallTimeout{60000};
inline constexpr std::string_view kStatusMaxLag = "1GB";  // `status --max-lag`

// Cleanup.
inline constexpr std::string_view kCreatedAtColumn = "created_at";
inline constexpr milliseconds kRetention{24 * 60 * 60 * 1000};
inline constexpr milliseconds kCleanupInterval{60 * 1000};
inline constexpr int kCleanupBatch = 10000;
inline constexpr milliseconds kCleanupLockTimeout{1000};
inline constexpr milliseconds kCleanupStatementTimeout{30000};

// Replay (`pgoutbox replay`): rows read per FETCH, and how often a long
// replay logs its progress.
inline constexpr int kReplayBatch = 1000;
inline constexpr milliseconds kReplayProgressInterval{10000};

}  // namespace pgoutbox::defaults
