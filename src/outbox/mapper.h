// EventMapper: turns an inserted outbox row (a pgoutput Insert plus the
// Relation that describes its columns) into an Event.
//
// The outbox tables are the tables a pg::TableSelection matches; each may
// have its own column layout (the same column names, in any order, with
// other types where more than one is usable, with or without the optional
// headers and topic columns). The mapper resolves the ColumnMap against a
// table's layout, both at start-up (from the catalog, to refuse a table that
// lacks a mapped column or has one of an unusable type) and for every
// Relation message of the stream (the layout can change mid-stream with
// ALTER TABLE; a table can join the publication mid-stream); one resolved
// layout per relation. It renders the topic template, decodes bytea payloads
// from PostgreSQL's "\x" hex text form, and parses the headers column (a flat
// JSON object) with simdjson.
//
// Headers: every record carries pgoutbox's own `id`, `event_type`,
// `aggregate_type` and `table` headers (kReservedHeaders) first, the first
// three from their mapped columns, `table` the row's table ("schema.table"),
// then one per field of the headers column. A field of the headers
// column named like a reserved header is dropped, so that a record never
// holds two `id` headers (consumers deduplicate on it, and delivery reports
// name the event by it): the row is published without it, not refused. The
// first drop of each name is logged as a warning naming the event, then at
// most one line per name every kDroppedHeaderWarningInterval, with how many
// rows lost it since (dropped_headers() counts them all).
//
// Every row that cannot become a record is an error that names the event id
// and the column: a null mapped column, a null topic placeholder, an invalid
// Kafka topic name, a headers value that is not a JSON object. The mapper
// skips nothing itself: bad_row_reason() tells the caller that the row, not
// the table or the stream, is at fault, and DumpRow() renders such a row for
// a dead-letter topic; what happens to it is the caller's policy.
//
// Thread safety: none; one instance per streaming session.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/defaults.h"
#include "common/status.h"
#include "common/types.h"
#include "outbox/bad_row_reason.h"
#include "outbox/column_map.h"
#include "outbox/event.h"
#include "outbox/topic_template.h"
#include "pg/catalog.h"
#include "pg/column_info.h"
#include "pg/table_selection.h"
#include "pgoutput/messages.h"

namespace pgoutbox::outbox {

// The headers pgoutbox sets on every event record, in this order, before the
// headers column's fields; a field of that column with one of these names is
// dropped.
inline constexpr std::array<std::string_view, 4> kReservedHeaders = {"id", "event_type",
                                                                     "aggregate_type", "table"};

// How often, at most, the warning about a dropped reserved header is
// repeated for one name.
inline constexpr std::chrono::minutes kDroppedHeaderWarningInterval{10};

struct MapperOptions {
  // The outbox tables; a relation of any other table is not the outbox.
  pg::TableSelection tables = pg::TableSelection::Of(pg::TableName{});
  ColumnMap columns;
  // Whether every outbox table must have the headers (topic) column that
  // `columns` names: when the user named it. Otherwise a table without it
  // has none (its records carry only pgoutbox's own headers; every topic
  // comes from the template) while a table with it uses it.
  bool headers_column_required = true;
  bool topic_column_required = true;
  // Placeholders in braces: {id}, {key} (= {aggregate_id}), {event_type},
  // {aggregate_type}, {schema} and {table} (the row's table), or the name of
  // any column of the table.
  std::string topic_template{defaults::kTopicTemplate};
};

class EventMapper {
 public:
  // Validates the options (template syntax, non-empty required column names).
  static Result<std::unique_ptr<EventMapper>> Create(MapperOptions options);
  ~EventMapper();

  // Checks the column layout of outbox table `table`: every mapped column
  // present with a usable type, every template placeholder resolvable. Used
  // at start-up with the catalog's columns, and by OnRelation. The table's
  // problems (a missing column: NotFound; an unusable type:
  // FailedPrecondition) come first; a --topic placeholder that names neither
  // a mapped field nor a column is InvalidArgument (the command line's).
  // Every message names the table.
  Status CheckColumns(const pg::TableName& table, const std::vector<pg::ColumnInfo>& columns) const;

  // Declares the outbox tables found at start-up. From then on the first
  // Relation message of another table the selection matches (one added to
  // the publication while pgoutbox runs) is logged at info, once per table:
  // "streaming outbox table X (new)". Without this call nothing is logged.
  void SetStartupTables(const std::vector<pg::TableName>& tables);

  // Records a Relation message. For an outbox table (one the selection
  // matches) the layout is resolved at once and an error returned if
  // unusable; inserts of that relation then fail with the same error until a
  // usable Relation message replaces it.
  // Other relations are remembered as not the outbox.
  Status OnRelation(const pgoutput::Relation& relation);

  // Forgets every relation (a new replication connection re-sends them).
  void Reset();

  // Maps one insert. Fails if the relation is unknown or not an outbox
  // table, or if the row cannot become a record (error names the event id
  // and the column). On success *out's views stay valid until the next Map
  // call and while the insert's buffer is alive.
  Status Map(const pgoutput::Insert& insert, Event* out);

  // Why the last Map call failed when the row itself cannot become a record
  // (see BadRowReason). Empty after a success, and after a failure that is
  // not the row's fault (unknown relation, unusable table layout, malformed
  // message): such failures must stop the stream.
  std::optional<BadRowReason> bad_row_reason() const { return bad_row_reason_; }

  // An outbox row rendered for a dead-letter topic.
  struct RowDump {
    // {"column": "value as PostgreSQL's text", ..., "other": null}; with
    // omitted_payload_size set, the payload column is left out and
    // "<payload column>_size": <that many bytes> takes its place.
    std::string json;
    std::optional<std::string> id;   // the id column's text, if not NULL
    std::optional<std::string> key;  // the key column's text, if not NULL
    std::string table;               // the row's table, "schema.table"
  };
  // Renders an insert of an outbox table whose relation is known (Map was
  // called on it). Corruption if the relation is unknown or the tuple does
  // not match it.
  Result<RowDump> DumpRow(const pgoutput::Insert& insert,
                          std::optional<size_t> omitted_payload_size) const;

  const MapperOptions& options() const { return options_; }

  // How many fields named `name` (one of kReservedHeaders) were dropped from
  // headers columns of the rows mapped so far; 0 for any other name.
  uint64_t dropped_headers(std::string_view name) const;

 private:
  struct Layout;
  struct Scratch;

  EventMapper(MapperOptions options, TopicTemplate topic_template);

  // Resolves `columns` (outbox table `table`'s) into *layout: the column of
  // each mapped field and of each template placeholder. Reports every
  // problem, not only the first.
  Status ResolveLayout(const pg::TableName& table, const std::vector<pg::ColumnInfo>& columns,
                       Layout* layout) const;

  // Sets *reason to the bad_row_reason() of the step it is at.
  Status MapRow(const Layout& layout, const std::vector<pgoutput::ColumnValue>& values, Event* out,
                BadRowReason* reason);
  Status ParseHeaders(std::string_view json, std::string_view event_id, Event* out);
  // Counts and (rate-limited) warns about the reserved fields a mapped row's
  // headers column held: bit i of `dropped` stands for kReservedHeaders[i].
  void NoteDroppedHeaders(unsigned dropped, std::string_view event_id);

  MapperOptions options_;
  TopicTemplate template_;
  std::unordered_map<RelationId, std::unique_ptr<const Layout>> relations_;
  // The outbox tables ("schema.table") known to have been streamed or found
  // at start-up; nullopt: SetStartupTables was not called, nothing is logged.
  std::optional<std::unordered_set<std::string>> announced_tables_;
  // Reused across Map calls: the bytea payload, the rendered topic, the JSON
  // parser whose string buffer holds the unescaped header names and values.
  std::unique_ptr<Scratch> scratch_;
  std::optional<BadRowReason> bad_row_reason_;
  // Per reserved header name: dropped in all, dropped since the last
  // warning, when that warning was written (none yet: nullopt).
  struct DroppedHeader {
    uint64_t total = 0;
    uint64_t since_warning = 0;
    std::optional<std::chrono::steady_clock::time_point> warned_at;
  };
  std::array<DroppedHeader, kReservedHeaders.size()> dropped_;
};

}  // namespace pgoutbox::outbox
