#include "tools/faults/fault_workload.h"

#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

#include "pg/connection.h"

namespace pgoutbox::faults {

namespace {

using Clock = std::chrono::steady_clock;

// The statements that write one event: $1 id, $2 key, $3 aggregate type,
// $4 fate (as the payload shows it). Each returns or writes one row when
// the key's counter row exists.
constexpr char kInsertEvent[] =
    "WITH s AS (UPDATE faults_key_seq SET seq = seq + 1 WHERE aggregate_id = $2 RETURNING seq) "
    "INSERT INTO public.outbox (id, aggregate_type, aggregate_id, event_type, payload) "
    "SELECT $1::uuid, $3, $2, 'Step', jsonb_build_object('seq', s.seq, 'fate', $4::text, "
    "'note', 'fault suite event with a little padding to look like a real payload') FROM s";
constexpr char kInsertEventB[] =
    "WITH s AS (UPDATE faults_key_seq SET seq = seq + 1 WHERE aggregate_id = $2 RETURNING seq) "
    "INSERT INTO public.outbox_b (event_type, aggregate_id, payload, id, aggregate_type, note) "
    "SELECT 'Step', $2, json_build_object('seq', s.seq, 'fate', $4::text, "
    "'note', 'fault suite event in the second table, in json'), $1, $3, 'not published' FROM s";
constexpr char kEmitMessage[] =
    "WITH s AS (UPDATE faults_key_seq SET seq = seq + 1 WHERE aggregate_id = $2 RETURNING seq), "
    "m AS (INSERT INTO faults_messages (id, aggregate_type, aggregate_id, seq) "
    "SELECT $1::uuid, $3, $2, s.seq FROM s RETURNING seq) "
    "SELECT pg_logical_emit_message(true, 'pgoutbox', jsonb_build_object('id', $1::text, "
    "'aggregate_type', $3::text, 'aggregate_id', $2::text, 'event_type', 'Step', "
    "'payload', jsonb_build_object('seq', m.seq, 'fate', $4::text, "
    "'note', 'fault suite event without a table'), "
    "'headers', jsonb_build_object('written_as', 'message'))::text) FROM m";
// $1 id, $2 key, $3 aggregate type: content that would make an event, with
// a prefix that does not.
constexpr char kEmitForeignMessage[] =
    "SELECT pg_logical_emit_message(false, 'pgoutbox.faults', jsonb_build_object('id', $1::text, "
    "'aggregate_type', $3::text, 'aggregate_id', $2::text, 'event_type', 'NotAnEvent', "
    "'payload', jsonb_build_object('seq', 0))::text)";
constexpr char kInsertOther[] =
    "INSERT INTO faults_orders (aggregate_id, note) VALUES ($1, 'business row')";

const char* EventStatement(EventSource source) {
  switch (source) {
    case EventSource::kSecondTable:
      return kInsertEventB;
    case EventSource::kMessage:
      return kEmitMessage;
    default:
      return kInsertEvent;
  }
}

// As the payload shows it.
const char* FateName(IdFate fate) {
  switch (fate) {
    case IdFate::kCommit:
      return "commit";
    case IdFate::kRolledBackTransaction:
      return "transaction rolled back";
    case IdFate::kRolledBackSavepoint:
      return "savepoint rolled back";
    case IdFate::kUnknown:
      break;
  }
  return "unknown";
}

int Uniform(std::mt19937_64* rng, int lo, int hi) {
  return std::uniform_int_distribution<int>(lo, hi)(*rng);
}

std::vector<PlannedRow> Rows(std::mt19937_64* rng, int n, const WorkloadMix& mix, uint32_t worker,
                             uint64_t* counter, IdFate fate) {
  std::vector<PlannedRow> rows;
  for (int i = 0; i < n; ++i) {
    PlannedRow r;
    r.aggregate_type = Uniform(rng, 0, 3) == 0 ? "customer" : "order";
    r.key = r.aggregate_type + "-" + std::to_string(Uniform(rng, 1, mix.keys));
    const int draw = Uniform(rng, 0, 99);
    r.source = draw < mix.second_table_percent                         ? EventSource::kSecondTable
               : draw < mix.second_table_percent + mix.message_percent ? EventSource::kMessage
                                                                       : EventSource::kTable;
    r.fate = fate;
    r.id = EventId(worker, (*counter)++, r.source, fate);
    rows.push_back(std::move(r));
  }
  std::sort(rows.begin(), rows.end(),
            [](const PlannedRow& a, const PlannedRow& b) { return a.key < b.key; });
  return rows;
}

// The outcome of one statement.
enum class Outcome { kOk, kServerError, kConnectionLost };

struct Exec {
  Outcome outcome = Outcome::kOk;
  std::string sqlstate;
  std::string message;
  std::string command;  // PQcmdStatus, e.g. "COMMIT"
  std::string tuples;   // PQcmdTuples
};

Exec Statement(PGconn* conn, const char* sql, const std::vector<std::string>& params = {}) {
  std::vector<const char*> values;
  for (const std::string& p : params) values.push_back(p.c_str());
  pg::ResultPtr res(PQexecParams(conn, sql, static_cast<int>(values.size()), nullptr,
                                 values.empty() ? nullptr : values.data(), nullptr, nullptr, 0));
  Exec e;
  ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
    e.command = PQcmdStatus(res.get());
    e.tuples = PQcmdTuples(res.get());
    return e;
  }
  if (res) {
    const char* code = PQresultErrorField(res.get(), PG_DIAG_SQLSTATE);
    e.sqlstate = code ? code : "";
  }
  e.message = pg::TrimMessage(PQerrorMessage(conn));
  e.outcome = PQstatus(conn) == CONNECTION_OK ? Outcome::kServerError : Outcome::kConnectionLost;
  return e;
}

// Shared by the workers.
struct Shared {
  explicit Shared(const WorkloadOptions& o) : options(o) {}
  const WorkloadOptions& options;
  std::mutex mu;  // guards result and error
  WorkloadResult result;
  Status error;
  std::atomic<uint64_t> committed{0};
  std::atomic<bool> stop{false};
};

class Worker {
 public:
  Worker(Shared* shared, uint32_t index)
      : shared_(shared),
        index_(index),
        rng_(shared->options.seed * 1000003 + index),
        rate_(shared->options.rate / shared->options.connections) {}

  void Run() {
    Status st = Loop();
    if (!st.ok()) {
      std::lock_guard<std::mutex> lock(shared_->mu);
      if (shared_->error.ok()) shared_->error = st;
      shared_->stop = true;
    }
  }

 private:
  Status Loop() {
    const auto started = Clock::now();
    double written = 0;
    while (!shared_->stop && shared_->committed < shared_->options.events) {
      const auto due = started + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(written / rate_));
      std::this_thread::sleep_until(due);
      if (Status st = EnsureConnected(); !st.ok()) return st;
      TxPlan plan = PlanTransaction(&rng_, shared_->options.mix, index_ + 1, &counter_);
      written += static_cast<double>(std::max<size_t>(plan.rows() + plan.other_rows, 1));
      if (Status st = Execute(plan); !st.ok()) return st;
    }
    return Status::Ok();
  }

  Status EnsureConnected() {
    if (conn_ && PQstatus(conn_.get()) == CONNECTION_OK) return Status::Ok();
    const bool reconnect = conn_ != nullptr;
    const auto deadline = Clock::now() + shared_->options.reconnect_timeout;
    std::string last;
    for (;;) {
      conn_.reset(PQconnectdb(shared_->options.conninfo.c_str()));
      if (conn_ && PQstatus(conn_.get()) == CONNECTION_OK) break;
      last = conn_ ? pg::TrimMessage(PQerrorMessage(conn_.get())) : "out of memory";
      if (Clock::now() >= deadline || shared_->stop) {
        return Status::Unavailable("workload: cannot connect: " + last);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    Statement(conn_.get(), "SET application_name = 'pgoutbox-faults-workload'");
    if (reconnect) {
      std::lock_guard<std::mutex> lock(shared_->mu);
      ++shared_->result.reconnects;
    }
    return Status::Ok();
  }

  // Runs `plan` as one transaction and records its outcome.
  Status Execute(const TxPlan& plan) {
    PGconn* c = conn_.get();
    Exec e;
    size_t savepoint_rows_undone = 0;
    auto step = [&](const char* sql, const std::vector<std::string>& params = {}) {
      e = Statement(c, sql, params);
      return e.outcome == Outcome::kOk;
    };
    auto rows = [&](const std::vector<PlannedRow>& section) {
      for (const PlannedRow& r : section) {
        if (!step(EventStatement(r.source), {r.id, r.key, r.aggregate_type, FateName(r.fate)})) {
          return false;
        }
        if (e.tuples != "1") {
          e.outcome = Outcome::kServerError;
          e.message = "no faults_key_seq row for " + r.key;
          return false;
        }
      }
      return true;
    };
    bool ok = step("BEGIN");
    size_t foreign_sent = 0;
    // As if about the transaction's first event (any key will do).
    const PlannedRow* first = plan.before.empty() ? nullptr : &plan.before.front();
    const std::string foreign_key = first ? first->key : "order-1";
    const std::string foreign_type = first ? first->aggregate_type : "order";
    for (size_t i = 0; ok && i < plan.foreign_messages.size(); ++i) {
      ok = step(kEmitForeignMessage, {plan.foreign_messages[i], foreign_key, foreign_type});
      foreign_sent += ok ? 1 : 0;
    }
    ok = ok && rows(plan.before);
    if (ok && plan.has_savepoint()) {
      ok = step("SAVEPOINT s") && rows(plan.in_savepoint);
      if (ok && plan.kind == TxPlan::Kind::kSavepointAfterError) {
        ok = !step("SELECT 1 / 0") && e.outcome == Outcome::kServerError && e.sqlstate == "22012";
      }
      if (ok && plan.kind == TxPlan::Kind::kSavepointReleased) {
        ok = step("RELEASE SAVEPOINT s");
      } else if (ok) {
        ok = step("ROLLBACK TO SAVEPOINT s");
        if (ok) savepoint_rows_undone = plan.in_savepoint.size();
      }
    }
    ok = ok && rows(plan.after);
    for (int i = 0; ok && i < plan.other_rows; ++i) {
      ok = step(kInsertOther, {plan.rows() > 0 ? plan.before.front().key : "none"});
    }
    bool committed = false, unknown = false;
    if (ok) {
      if (plan.commit) {
        ok = step("COMMIT");
        if (ok && e.command != "COMMIT") {
          e.outcome = Outcome::kServerError;
          e.message = "COMMIT answered " + e.command;
          ok = false;
        }
        committed = ok;
        unknown = !ok && e.outcome == Outcome::kConnectionLost;
      } else {
        ok = step("ROLLBACK");
      }
    }

    std::lock_guard<std::mutex> lock(shared_->mu);
    WorkloadResult& r = shared_->result;
    r.events_savepoint_rolled_back += savepoint_rows_undone;
    r.foreign_messages += foreign_sent;
    const uint64_t events = plan.events_if_committed();
    if (committed) {
      ++r.tx_committed;
      ++r.tx_by_kind[static_cast<int>(plan.kind)];
      r.events_committed += events;
      for (int s = 0; s < kEventSources; ++s) {
        r.events_by_source[s] += plan.events_if_committed(static_cast<EventSource>(s));
      }
      r.other_rows += static_cast<uint64_t>(plan.other_rows);
      shared_->committed += events;
      return Status::Ok();
    }
    if (ok) {  // rolled back as planned
      ++r.tx_rolled_back;
      ++r.tx_by_kind[static_cast<int>(plan.kind)];
      r.events_rolled_back += plan.rows();
      return Status::Ok();
    }
    if (unknown) {
      ++r.tx_unknown;
      r.events_unknown += events;
      return Status::Ok();
    }
    ++r.tx_failed;
    r.events_failed += plan.rows();
    if (e.outcome == Outcome::kConnectionLost) return Status::Ok();  // reconnects next time
    // A server error with the connection alive: a deadlock (or a backend
    // being shut down) is part of the game; anything else is a workload bug.
    if (e.sqlstate == "40P01") ++r.deadlocks;
    const bool expected =
        e.sqlstate == "40P01" || e.sqlstate.rfind("57P", 0) == 0 || e.sqlstate.rfind("08", 0) == 0;
    Statement(c, "ROLLBACK");
    if (!expected) {
      return Status::Internal("workload: unexpected error (SQLSTATE " + e.sqlstate +
                              "): " + e.message);
    }
    return Status::Ok();
  }

  Shared* shared_;
  const uint32_t index_;
  std::mt19937_64 rng_;
  const double rate_;
  uint64_t counter_ = 0;
  pg::ConnPtr conn_;
};

}  // namespace

Status PrepareWorkload(const WorkloadOptions& options) {
  pg::ConnPtr conn(PQconnectdb(options.conninfo.c_str()));
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    return Status::Unavailable("workload: cannot connect: " +
                               (conn ? pg::TrimMessage(PQerrorMessage(conn.get())) : ""));
  }
  const std::string keys = std::to_string(options.mix.keys);
  const std::string sql =
      "CREATE TABLE IF NOT EXISTS faults_key_seq (aggregate_id text PRIMARY KEY, "
      "seq bigint NOT NULL DEFAULT 0);"
      "CREATE TABLE IF NOT EXISTS faults_orders (id bigserial PRIMARY KEY, aggregate_id text, "
      "note text, created_at timestamptz NOT NULL DEFAULT now());"
      "CREATE TABLE IF NOT EXISTS faults_messages (id uuid PRIMARY KEY, "
      "aggregate_type text NOT NULL, aggregate_id text NOT NULL, seq bigint NOT NULL, "
      "written_at timestamptz NOT NULL DEFAULT now());"
      // The second outbox table: the mapped columns in another order and
      // partly of other types, no headers or topic column, two more columns.
      "CREATE TABLE IF NOT EXISTS public.outbox_b (row_number bigserial, event_type text NOT NULL, "
      "aggregate_id text NOT NULL, payload json NOT NULL, id text PRIMARY KEY, note text, "
      "aggregate_type text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());"
      "INSERT INTO faults_key_seq (aggregate_id) SELECT t || '-' || n FROM "
      "unnest(ARRAY['order', 'customer']) t, generate_series(1, " +
      keys + ") n ON CONFLICT DO NOTHING;";
  pg::ResultPtr res(PQexec(conn.get(), sql.c_str()));
  if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
    return Status::Internal("workload: creating its tables: " +
                            pg::TrimMessage(PQerrorMessage(conn.get())));
  }
  return Status::Ok();
}

bool TxPlan::has_savepoint() const {
  return kind == Kind::kSavepointRolledBack || kind == Kind::kSavepointAfterError ||
         kind == Kind::kSavepointReleased;
}

size_t TxPlan::events_if_committed() const {
  if (!commit) return 0;
  size_t n = before.size() + after.size();
  if (kind == Kind::kSavepointReleased) n += in_savepoint.size();
  return n;
}

size_t TxPlan::events_if_committed(EventSource source) const {
  if (!commit) return 0;
  auto count = [source](const std::vector<PlannedRow>& section) {
    return static_cast<size_t>(std::count_if(
        section.begin(), section.end(), [&](const PlannedRow& r) { return r.source == source; }));
  };
  size_t n = count(before) + count(after);
  if (kind == Kind::kSavepointReleased) n += count(in_savepoint);
  return n;
}

const char* KindName(TxPlan::Kind kind) {
  switch (kind) {
    case TxPlan::Kind::kOneRow:
      return "one_row";
    case TxPlan::Kind::kMultiRow:
      return "multi_row";
    case TxPlan::Kind::kRolledBack:
      return "rolled_back";
    case TxPlan::Kind::kSavepointRolledBack:
      return "savepoint_rolled_back";
    case TxPlan::Kind::kSavepointAfterError:
      return "savepoint_after_error";
    case TxPlan::Kind::kSavepointReleased:
      return "savepoint_released";
    case TxPlan::Kind::kOtherTablesOnly:
      return "other_tables_only";
    case TxPlan::Kind::kLarge:
      return "large";
  }
  return "?";
}

TxPlan PlanTransaction(std::mt19937_64* rng, const WorkloadMix& mix, uint32_t worker,
                       uint64_t* counter) {
  using Kind = TxPlan::Kind;
  // Weights per thousand transactions.
  static const std::pair<Kind, int> kMix[] = {
      {Kind::kOneRow, 388},
      {Kind::kMultiRow, 240},
      {Kind::kRolledBack, 100},
      {Kind::kSavepointRolledBack, 70},
      {Kind::kSavepointAfterError, 50},
      {Kind::kSavepointReleased, 50},
      {Kind::kOtherTablesOnly, 100},
      {Kind::kLarge, 2},
  };
  int draw = Uniform(rng, 0, 999);
  TxPlan p;
  for (auto [kind, weight] : kMix) {
    p.kind = kind;
    if (draw < weight) break;
    draw -= weight;
  }
  auto rows = [&](int lo, int hi, IdFate fate) {
    return Rows(rng, Uniform(rng, lo, hi), mix, worker, counter, fate);
  };
  switch (p.kind) {
    case Kind::kOneRow:
      p.before = rows(1, 1, IdFate::kCommit);
      break;
    case Kind::kMultiRow:
      p.before = rows(2, 10, IdFate::kCommit);
      p.other_rows = Uniform(rng, 0, 1) * Uniform(rng, 1, 2);
      break;
    case Kind::kRolledBack:
      p.before = rows(1, 6, IdFate::kRolledBackTransaction);
      p.other_rows = Uniform(rng, 0, 1);
      p.commit = false;
      break;
    case Kind::kSavepointRolledBack:
      p.before = rows(1, 3, IdFate::kCommit);
      p.in_savepoint = rows(1, 3, IdFate::kRolledBackSavepoint);
      p.after = rows(0, 3, IdFate::kCommit);
      break;
    case Kind::kSavepointAfterError:
      p.before = rows(1, 2, IdFate::kCommit);
      p.in_savepoint = rows(1, 2, IdFate::kRolledBackSavepoint);
      p.after = rows(0, 2, IdFate::kCommit);
      p.other_rows = 1;
      break;
    case Kind::kSavepointReleased:
      p.before = rows(1, 2, IdFate::kCommit);
      p.in_savepoint = rows(1, 2, IdFate::kCommit);
      p.after = rows(0, 2, IdFate::kCommit);
      break;
    case Kind::kOtherTablesOnly:
      p.other_rows = Uniform(rng, 1, 3);
      break;
    case Kind::kLarge:
      p.before = rows(200, 600, IdFate::kCommit);
      break;
  }
  if (Uniform(rng, 0, 99) < mix.foreign_message_percent) {
    p.foreign_messages.push_back(
        EventId(worker, (*counter)++, EventSource::kForeignMessage,
                p.commit ? IdFate::kCommit : IdFate::kRolledBackTransaction));
  }
  return p;
}

Result<WorkloadResult> RunWorkload(const WorkloadOptions& options) {
  const WorkloadMix& mix = options.mix;
  if (options.connections < 1 || options.rate <= 0 || mix.keys < 1) {
    return Status::InvalidArgument("workload: connections, rate and keys must be positive");
  }
  if (mix.second_table_percent < 0 || mix.message_percent < 0 ||
      mix.second_table_percent + mix.message_percent > 100 || mix.foreign_message_percent < 0 ||
      mix.foreign_message_percent > 100) {
    return Status::InvalidArgument(
        "workload: the second table's and the messages' shares must be 0 to 100 together, the "
        "foreign messages' 0 to 100");
  }
  if (Status st = PrepareWorkload(options); !st.ok()) return st;
  Shared shared(options);
  const auto started = Clock::now();
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::thread> threads;
  for (int i = 0; i < options.connections; ++i) {
    workers.push_back(std::make_unique<Worker>(&shared, static_cast<uint32_t>(i)));
    threads.emplace_back([w = workers.back().get()] { w->Run(); });
  }
  std::atomic<bool> done{false};
  std::thread progress([&] {
    auto next = started + std::chrono::seconds(10);
    while (!done) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (Clock::now() < next) continue;
      next += std::chrono::seconds(10);
      std::lock_guard<std::mutex> lock(shared.mu);
      const WorkloadResult& r = shared.result;
      std::fprintf(stderr,
                   "workload: %.0fs committed_events=%llu tx_committed=%llu tx_failed=%llu "
                   "tx_unknown=%llu reconnects=%llu\n",
                   std::chrono::duration<double>(Clock::now() - started).count(),
                   static_cast<unsigned long long>(r.events_committed),
                   static_cast<unsigned long long>(r.tx_committed),
                   static_cast<unsigned long long>(r.tx_failed),
                   static_cast<unsigned long long>(r.tx_unknown),
                   static_cast<unsigned long long>(r.reconnects));
    }
  });
  for (std::thread& t : threads) t.join();
  done = true;
  progress.join();
  if (!shared.error.ok()) return shared.error;
  WorkloadResult r = shared.result;
  r.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return r;
}

}  // namespace pgoutbox::faults
