// RowReader: reads the rows of a table that a RowSelection picks, batch by
// batch, in a fixed order, on a connection the caller gives: an ordinary one
// (`pgoutbox replay`), or a replication connection inside the transaction
// whose snapshot a newly created slot exported (recovery from the table).
//
// Values come as libpq's text format, NULL as nullopt: the same text pgoutput
// sends for the same row (bytea as "\x..." hex, json and jsonb as text), so a
// row read here maps to the record the stream made of it.
//
// Memory is bounded by the batch size: the rows are read through a cursor
// (DECLARE ... NO SCROLL CURSOR, FETCH FORWARD n); the server keeps the
// position and sorts on its side. Only the simple query protocol is used,
// with the selection's values quoted by libpq (PQescapeLiteral), because a
// replication connection accepts no extended-protocol query; the server
// parses them (timestamptz input, the id column's type). A value it cannot
// parse (SQLSTATE class 22) is InvalidArgument with the server's message.
//
// Transactions: on an idle connection Open() begins a REPEATABLE READ READ
// ONLY transaction, so the whole read sees one snapshot (rows inserted or
// deleted meanwhile do not shift it), and Close() ends it. Inside a
// transaction the caller opened (the exported snapshot), the cursor lives in
// it and Close() only closes the cursor: the transaction stays the caller's.
//
// Order: created_at, then id, when the table has a created_at column;
// otherwise ctid (the physical order, stable within the snapshot). See
// RowSelection.
//
// Needs only SELECT on the table. Ownership: borrows the connection, which
// must outlive the reader; the destructor closes what Close() did not.
// Thread safety: one thread, and nothing else on the connection while open;
// one reader per connection at a time (its cursor has a fixed name).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "pg/catalog.h"
#include "pg/column_info.h"
#include "pg/connection.h"

namespace pgoutbox::pg {

// Which rows to read, and the columns that order them.
//
// Rows come ordered by created_at, then by the command that inserted them
// (the cmin system column), then id. created_at is when the application
// wrote the event (now(), the start of its transaction), the closest the
// table comes to the commit order in which the stream published them, so the
// events of one key are replayed in the order they were created. Rows of one
// transaction share a created_at: among them, cmin is the order of the
// statements that inserted them, which is their insertion order when each
// event has its INSERT, whatever the ids (random UUIDs included); the rows of
// one multi-row statement follow each other in id order, their insertion
// order only if ids grow (a sequence, UUIDv7). id makes the order total, so
// that two reads of the same rows give the same sequence.
struct RowSelection {
  // The creation time column; empty when the table has none: rows then come
  // in ctid order, and since/until cannot be used.
  std::string created_at_column;
  // created_at >= since, created_at < until (timestamptz input text).
  std::optional<std::string> since;
  std::optional<std::string> until;
  // The id column (orders ties; selects with `ids`).
  std::string id_column;
  // Non-empty: only the rows whose id is one of these (as the id column's
  // type reads them).
  std::vector<std::string> ids;
  // Rows that may be undelivered after a delivered mark (recovery from the
  // table, core/delivery_state.h): inserted by transaction `from_xid` (a
  // 32-bit xid as the xid type reads it) or a later one, by transaction age
  // (age(xmin) <= age(from_xid); a frozen row keeps its xmin, so freezing
  // changes nothing), or created at or after `created_since` (timestamptz
  // input; needs created_at_column). With an empty from_xid, only
  // created_since selects; with neither, every row.
  struct AfterMark {
    std::string from_xid;
    std::optional<std::string> created_since;
  };
  std::optional<AfterMark> after_mark;
};

// One row: `values` follow the reader's columns(); `created_at_unix_ms` is
// the created_at column as milliseconds since the Unix epoch (nothing if the
// selection has no created_at column or the value is NULL).
struct TableRow {
  std::vector<std::optional<std::string>> values;
  std::optional<int64_t> created_at_unix_ms;
};

class RowReader {
 public:
  // Declares the cursor over `table`, reading `columns` (TableColumns, in
  // that order) of the rows `selection` picks, `batch_size` at a time.
  // TableColumns takes parameters, which a replication connection refuses:
  // ask it on an ordinary connection, before the snapshot's transaction.
  // InvalidArgument for a selection the table cannot serve (since/until
  // without a created_at column, a column not among `columns`) or a value
  // the server cannot parse; the server's error otherwise.
  // REQUIRES: batch_size > 0; nothing else running on `conn`.
  static Result<std::unique_ptr<RowReader>> Open(PgConnection* conn, const TableName& table,
                                                 std::vector<ColumnInfo> columns,
                                                 const RowSelection& selection, size_t batch_size);
  ~RowReader();
  RowReader(const RowReader&) = delete;
  RowReader& operator=(const RowReader&) = delete;

  // Reads the next batch into *rows (replacing what it held): at most
  // batch_size rows, none once every row was read.
  Status Next(std::vector<TableRow>* rows);

  // Closes the cursor, and ends the transaction if Open() began it. Further
  // Next() calls fail.
  Status Close();

  const std::vector<ColumnInfo>& columns() const { return columns_; }

  // The SELECT the cursor runs (for logs and tests).
  const std::string& query() const { return query_; }

 private:
  RowReader(PgConnection* conn, std::vector<ColumnInfo> columns, size_t batch_size)
      : conn_(conn), columns_(std::move(columns)), batch_size_(batch_size) {}

  PgConnection* conn_;
  std::vector<ColumnInfo> columns_;
  size_t batch_size_;
  std::string query_;
  bool has_created_at_ = false;  // the query's last column is created_at in ms
  bool own_transaction_ = false;
  bool open_ = false;
};

}  // namespace pgoutbox::pg
