#include "app/run_config.h"

#include "common/duration.h"
#include "kafka/publisher.h"
#include "pg/connection.h"

namespace pgoutbox::app {

namespace {

// Values of -X properties that are or may be secrets: anything named like a
// password, secret, credential, token or key material, and any key librdkafka
// does not know (a mistyped "sasl.pasword").
bool IsSecretKey(const std::string& key) {
  for (const char* word : {"pass", "secret", "jaas", "key.pem", "token", "credential"}) {
    if (key.find(word) != std::string::npos) return true;
  }
  return !kafka::IsKnownProperty(key);
}

}  // namespace

std::string RunConfig::Describe() const {
  // Durations as a user writes them ("24h", "1s", "250ms"), never "0" for off.
  auto duration_or_off = [](std::chrono::milliseconds d) {
    return d.count() > 0 ? FormatDuration(d) : std::string("off");
  };
  const outbox::ColumnMap& columns = mapping.columns;
  std::string table_list;
  for (const std::string& t : tables) table_list += (table_list.empty() ? "" : ",") + t;
  std::string s = "db=\"" + pg::RedactConninfo(db) + "\" brokers=" + brokers +
                  " table=" + table_list + " publication=" + publication + " slot=" + slot +
                  " create=" + (no_create ? "no" : "yes") + " columns(id=" + columns.id +
                  " key=" + columns.key + " event_type=" + columns.event_type +
                  " aggregate_type=" + columns.aggregate_type + " payload=" + columns.payload +
                  " headers=" + columns.headers + " topic=" + columns.topic +
                  ") topic_template=" + mapping.topic_template +
                  " feedback_interval=" + FormatDuration(feedback_interval);
  for (const auto& [k, v] : kafka_config) {
    s += " -X " + k + "=" + (IsSecretKey(k) ? "***" : v);
  }
  s += " http_addr=" + (http_addr.empty() ? std::string("off") : http_addr) +
       " stall_timeout=" + FormatDuration(stall_timeout) +
       " heartbeat_interval=" + duration_or_off(heartbeat_interval) + " retention=" +
       (cleanup.cleanup.enabled() ? FormatDuration(cleanup.cleanup.retention) +
                                        " cleanup_interval=" + FormatDuration(cleanup.interval)
                                  : std::string("off"));
  if (end_lsn) s += " end_lsn=" + end_lsn->ToString();
  if (exit_when_caught_up) s += " exit_when_caught_up";
  s += std::string(" on_bad_row=") + core::BadRowActionName(on_bad_row);
  if (on_bad_row == core::BadRowAction::kDeadLetter) s += " dlq_topic=" + dead_letter_topic;
  if (accept_gap) s += " accept_gap";
  s += " message_prefix=" + (message_prefix.empty() ? std::string("off") : message_prefix);
  return s;
}

}  // namespace pgoutbox::app
