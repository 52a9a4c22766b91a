#include "pg/row_reader.h"

#include <utility>

namespace pgoutbox::pg {

namespace {

// One cursor per connection at a time: the reader owns this name while open.
constexpr char kCursor[] = "pgoutbox_rows";

// A server error about a value it could not parse (SQLSTATE class 22, data
// exception: a bad timestamptz, an id that is not a uuid) is the caller's
// input, not the database's problem.
Status FromSqlError(const Status& st, const SqlError& error) {
  if (error.sqlstate.rfind("22", 0) == 0) return Status::InvalidArgument(error.message);
  return st;
}

}  // namespace

Result<std::unique_ptr<RowReader>> RowReader::Open(PgConnection* conn, const TableName& table,
                                                   std::vector<ColumnInfo> columns,
                                                   const RowSelection& selection,
                                                   size_t batch_size) {
  if (batch_size == 0) return Status::Internal("RowReader: a batch size of 0");
  const bool has_created_at = !selection.created_at_column.empty();
  if (!has_created_at && (selection.since || selection.until ||
                          (selection.after_mark && selection.after_mark->created_since))) {
    return Status::InvalidArgument("table " + table.ToString() +
                                   " has no creation time column to select rows by time");
  }
  for (const std::string* name : {&selection.created_at_column, &selection.id_column}) {
    if (!name->empty() && !HasColumn(columns, *name)) {
      return Status::InvalidArgument("table " + table.ToString() + " has no column \"" + *name +
                                     "\"");
    }
  }
  if (!selection.ids.empty() && selection.id_column.empty()) {
    return Status::InvalidArgument("no id column to select rows by id");
  }

  std::unique_ptr<RowReader> reader(new RowReader(conn, std::move(columns), batch_size));
  reader->has_created_at_ = has_created_at;
  const std::string created_at =
      has_created_at ? conn->QuoteIdentifier(selection.created_at_column) : "";
  std::string& q = reader->query_;
  q = "SELECT ";
  for (size_t i = 0; i < reader->columns_.size(); ++i) {
    if (i > 0) q += ", ";
    q += conn->QuoteIdentifier(reader->columns_[i].name);
  }
  if (has_created_at) q += ", floor(extract(epoch FROM " + created_at + ") * 1000)::int8";
  q += " FROM " + conn->QuoteIdentifier(table.schema) + "." + conn->QuoteIdentifier(table.name);
  std::vector<std::string> conditions;
  if (selection.since) {
    conditions.push_back(created_at + " >= " + conn->QuoteLiteral(*selection.since) +
                         "::timestamptz");
  }
  if (selection.until) {
    conditions.push_back(created_at + " < " + conn->QuoteLiteral(*selection.until) +
                         "::timestamptz");
  }
  if (selection.after_mark) {
    const RowSelection::AfterMark& mark = *selection.after_mark;
    std::vector<std::string> any;
    if (!mark.from_xid.empty()) {
      any.push_back("age(xmin) <= age(" + conn->QuoteLiteral(mark.from_xid) + "::xid)");
    }
    if (mark.created_since) {
      any.push_back(created_at + " >= " + conn->QuoteLiteral(*mark.created_since) +
                    "::timestamptz");
    }
    std::string either;
    for (size_t i = 0; i < any.size(); ++i) either += (i > 0 ? " OR " : "") + any[i];
    conditions.push_back(any.empty() ? "true" : "(" + either + ")");
  }
  if (!selection.ids.empty()) {
    // Untyped literals: the server reads each as the id column's type.
    std::string in = conn->QuoteIdentifier(selection.id_column) + " IN (";
    for (size_t i = 0; i < selection.ids.size(); ++i) {
      if (i > 0) in += ", ";
      in += conn->QuoteLiteral(selection.ids[i]);
    }
    conditions.push_back(in + ")");
  }
  for (size_t i = 0; i < conditions.size(); ++i)
    q += (i == 0 ? " WHERE " : " AND ") + conditions[i];
  if (has_created_at) {
    // cmin: the command of its transaction that inserted the row, so the
    // rows of one transaction (one created_at) come in statement order
    // whatever their ids.
    q += " ORDER BY " + created_at + ", cmin::text::int8";
    if (!selection.id_column.empty()) q += ", " + conn->QuoteIdentifier(selection.id_column);
  } else {
    q += " ORDER BY ctid";
  }

  switch (PQtransactionStatus(conn->get())) {
    case PQTRANS_IDLE:
      RETURN_IF_ERROR(conn->Query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").status());
      reader->own_transaction_ = true;
      break;
    case PQTRANS_INTRANS:
      break;  // the caller's transaction (and snapshot)
    default:
      return Status::FailedPrecondition(
          "cannot read the table: the connection is busy or its transaction failed");
  }
  // From here on the destructor ends what Open began, also on failure.
  reader->open_ = true;
  SqlError error;
  Result<Rows> declared =
      conn->Query(std::string("DECLARE ") + kCursor + " NO SCROLL CURSOR FOR " + q, &error);
  if (!declared.ok()) return FromSqlError(declared.status(), error);
  return reader;
}

RowReader::~RowReader() { (void)Close(); }

Status RowReader::Next(std::vector<TableRow>* rows) {
  rows->clear();
  if (!open_) return Status::FailedPrecondition("the row reader is closed");
  ASSIGN_OR_RETURN(Rows batch, conn_->Query("FETCH FORWARD " + std::to_string(batch_size_) +
                                            " FROM " + kCursor));
  rows->reserve(batch.size());
  for (auto& values : batch.rows) {
    TableRow row;
    if (has_created_at_) {
      if (values.back()) row.created_at_unix_ms = std::stoll(*values.back());
      values.pop_back();
    }
    if (values.size() != columns_.size()) {
      return Status::Internal("FETCH returned " + std::to_string(values.size()) +
                              " columns, expected " + std::to_string(columns_.size()));
    }
    row.values = std::move(values);
    rows->push_back(std::move(row));
  }
  return Status::Ok();
}

Status RowReader::Close() {
  if (!open_) return Status::Ok();
  open_ = false;
  // A read-only transaction has nothing to commit; ROLLBACK also ends one
  // that failed.
  if (own_transaction_) return conn_->Query("ROLLBACK").status();
  return conn_->Query(std::string("CLOSE ") + kCursor).status();
}

}  // namespace pgoutbox::pg
