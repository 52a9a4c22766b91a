#include "app/replay.h"

#include <spdlog/spdlog.h>

#include <set>

#include "app/kafka_connection.h"
#include "app/row_publisher.h"
#include "app/startup.h"
#include "common/text.h"
#include "outbox/table_row.h"
#include "pg/catalog.h"
#include "pg/connection.h"
#include "pg/row_reader.h"
#include "pg/table_selection.h"

namespace pgoutbox::app {

namespace {

int FindColumn(const std::vector<pg::ColumnInfo>& columns, const std::string& name) {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

// Lets the server read `value` as a timestamptz, as the row selection will:
// InvalidArgument naming `flag` with the server's message if it cannot.
// Returns the value as the server prints it, for the log.
Result<std::string> CheckTimestamp(pg::PgConnection& conn, const std::string& flag,
                                   const std::string& value) {
  pg::SqlError error;
  Result<pg::Rows> rows = conn.QueryParams("SELECT $1::timestamptz::text", {value}, &error);
  if (rows.ok()) return rows->Get(0, 0);
  if (error.sqlstate.rfind("22", 0) == 0) {
    return Status::InvalidArgument(flag + " \"" + value + "\": " + error.message);
  }
  return rows.status();
}

// A PostgreSQL array literal of `values` ({"a","b\"c"}), for a parameter.
std::string ArrayLiteral(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

// `ids` as the server reads them as the id column's type (type oid
// `id_type`) and prints them back: an upper-case uuid becomes the row's
// lower-case one. InvalidArgument naming --ids with the server's message for
// an id it cannot read.
Result<std::vector<std::string>> NormalizeIds(pg::PgConnection& conn, uint32_t id_type,
                                              const std::vector<std::string>& ids) {
  ASSIGN_OR_RETURN(pg::Rows type, conn.QueryParams("SELECT format_type($1::oid, NULL)",
                                                   {std::to_string(id_type)}));
  pg::SqlError error;
  Result<pg::Rows> rows =
      conn.QueryParams("SELECT CAST(i AS " + type.Get(0, 0) +
                           ")::text FROM unnest($1::text[]) WITH ORDINALITY AS u(i, n) ORDER BY n",
                       {ArrayLiteral(ids)}, &error);
  if (!rows.ok()) {
    if (error.sqlstate.rfind("22", 0) == 0) {
      return Status::InvalidArgument("--ids: " + error.message);
    }
    return rows.status();
  }
  std::vector<std::string> normalized;
  for (size_t i = 0; i < rows->size(); ++i) normalized.push_back(rows->Get(i, 0));
  return normalized;
}

}  // namespace

Status Replay(const ReplayConfig& config, const std::atomic<int>* stop_requests,
              ReplayStats* stats) {
  *stats = ReplayStats{};
  ASSIGN_OR_RETURN(pg::TableSelection selected, pg::TableSelection::Parse(config.tables));
  if (!config.dry_run) {
    if (config.brokers.empty()) {
      return Status::InvalidArgument("--brokers is required (except with --dry-run)");
    }
    RETURN_IF_ERROR(kafka::ParseMockSpec(config.brokers).status());
    RETURN_IF_ERROR(kafka::ValidateConfig({config.brokers, config.kafka_config}));
  }

  // An ordinary connection: the replay reads the tables, nothing else.
  ASSIGN_OR_RETURN(auto conn, pg::PgConnection::Connect(
                                  config.db, pg::PgConnection::Kind::kOrdinary, "pgoutbox replay"));
  ASSIGN_OR_RETURN(std::vector<OutboxTable> tables, ReadOutboxTables(*conn, selected));
  ASSIGN_OR_RETURN(auto mapper, MakeMapper(config.mapping, selected, tables));

  // Each table's row selection: its created_at column (or none), its ids as
  // its id column's type reads them.
  std::vector<pg::RowSelection> selections(tables.size());
  std::vector<std::string> created_at_columns(tables.size());
  std::string what;
  for (size_t t = 0; t < tables.size(); ++t) {
    const OutboxTable& table = tables[t];
    pg::RowSelection& selection = selections[t];
    if (FindColumn(table.columns, config.created_at_column) >= 0) {
      selection.created_at_column = config.created_at_column;
      created_at_columns[t] = config.created_at_column;
    } else if (config.since || config.until) {
      return Status::InvalidArgument("table " + table.name.ToString() + " has no column \"" +
                                     config.created_at_column +
                                     "\" to select rows by time (name it with "
                                     "--column-created-at, or select rows with --ids)");
    } else {
      spdlog::info("table {} has no column {}: rows in physical order, timestamped now",
                   table.name.ToString(), config.created_at_column);
    }
    selection.id_column = mapper->options().columns.id;
    const int id_index = FindColumn(table.columns, selection.id_column);
    if (!config.ids.empty()) {
      ASSIGN_OR_RETURN(selection.ids,
                       NormalizeIds(*conn, table.columns[id_index].type_oid, config.ids));
    }
  }
  if (config.since) {
    // The server's reading of the value, absolute ("yesterday" is read once).
    ASSIGN_OR_RETURN(std::string since, CheckTimestamp(*conn, "--since", *config.since));
    for (pg::RowSelection& selection : selections) selection.since = since;
    what = "created at or after " + since;
  }
  if (config.until) {
    ASSIGN_OR_RETURN(std::string until, CheckTimestamp(*conn, "--until", *config.until));
    for (pg::RowSelection& selection : selections) selection.until = until;
    what += (what.empty() ? "created before " : " and before ") + until;
  }
  if (!config.ids.empty()) what = "with " + Counted(config.ids.size(), "given id");

  RowPublisherOptions publish_options;
  publish_options.on_bad_row = config.on_bad_row;
  publish_options.dead_letter_topic = config.dead_letter_topic;
  publish_options.shutdown_timeout = config.shutdown_timeout;
  publish_options.collect_ids = !config.ids.empty();
  RowPublisher session(publish_options, selected.ToString(), mapper.get(), stop_requests, stats);
  KafkaConnection kafka;
  if (!config.dry_run) {
    auto connected =
        KafkaConnection::Connect(config.brokers, config.kafka_config, config.startup_timeout,
                                 stop_requests, session.handler());
    if (!connected.ok()) {
      if (connected.status().code() == Status::Code::kCancelled) {
        return Status::Cancelled(connected.status().message() + ", before anything was published");
      }
      return connected.status();
    }
    kafka = std::move(*connected);
    session.set_publisher(kafka.publisher.get());
  }

  // One table after another.
  auto read_table = [&](size_t t) -> Status {
    const OutboxTable& table = tables[t];
    ASSIGN_OR_RETURN(outbox::TableRowMapper row_mapper,
                     outbox::TableRowMapper::Create(mapper.get(), table.name, table.columns));
    session.SetTable(&row_mapper, table.columns, created_at_columns[t]);
    ASSIGN_OR_RETURN(auto reader, pg::RowReader::Open(conn.get(), table.name, table.columns,
                                                      selections[t], config.batch_size));
    stats->reading = true;
    spdlog::debug("replay query: {}", reader->query());
    spdlog::info("{} the rows of {} {}", config.dry_run ? "reading (dry run)" : "replaying",
                 table.name.ToString(), what);
    Status read = session.ReadAll(reader.get());
    Status closed = reader->Close();
    RETURN_IF_ERROR(read);
    return closed;
  };
  Status read;
  for (size_t t = 0; t < tables.size() && read.ok(); ++t) read = read_table(t);
  Status acked = session.WaitForAcks();
  if (!read.ok()) {
    if (!acked.ok()) {
      const std::string both = read.message() + "; " + acked.message();
      return read.code() == Status::Code::kCancelled ? Status::Cancelled(both)
                                                     : Status::Aborted(both);
    }
    return read;
  }
  RETURN_IF_ERROR(acked);

  if (!config.ids.empty()) {
    // An id is found when one table holds it (as that table's id type reads it).
    std::vector<std::string> missing;
    std::set<std::string> named;
    for (size_t i = 0; i < config.ids.size(); ++i) {
      bool found = false;
      for (const pg::RowSelection& selection : selections) {
        if (session.found_ids().count(selection.ids[i]) > 0) found = true;
      }
      if (!found && named.insert(selections.front().ids[i]).second) {
        missing.push_back(config.ids[i]);
      }
    }
    if (!missing.empty()) {
      std::string list;
      for (size_t i = 0; i < missing.size(); ++i) list += (i > 0 ? ", " : "") + missing[i];
      return Status::Aborted(Counted(missing.size(), "id") + " of --ids not in " +
                             (tables.size() == 1 ? "table " : "tables ") + selected.ToString() +
                             " (deleted by cleanup?): " + list);
    }
  }
  return Status::Ok();
}

}  // namespace pgoutbox::app
