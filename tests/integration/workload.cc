#include "integration/workload.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <set>
#include <thread>
#include <utility>

namespace pgoutbox::testing {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

long long MillisSince(Clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
}

PgConnPtr Connect(const Harness& h, bool report) {
  PgConnPtr conn(PQconnectdb(h.pg->ConnInfo(h.db).c_str()));
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    if (report) ADD_FAILURE() << "connect: " << PQerrorMessage(conn.get());
    return nullptr;
  }
  return conn;
}

std::string InsertTransactionSql(int tx, int rows, int aggregates) {
  return "BEGIN; INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload) "
         "SELECT 'order', 'agg-' || ((" +
         std::to_string(tx) + " * " + std::to_string(rows) + " + r) % " +
         std::to_string(aggregates) + "), 'OrderPlaced', jsonb_build_object('tx', " +
         std::to_string(tx) + ", 'row', r, 'pad', repeat('p', 48)) FROM generate_series(0, " +
         std::to_string(rows - 1) + ") AS r; COMMIT; SELECT pg_current_wal_lsn()";
}

std::string TryInsertTransaction(PGconn* conn, int tx, int rows, std::string* error,
                                 int aggregates) {
  PGresult* res = PQexec(conn, InsertTransactionSql(tx, rows, aggregates).c_str());
  std::string lsn;
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    *error = PQresultErrorMessage(res);
    if (error->empty()) *error = PQerrorMessage(conn);
  } else {
    lsn = PQgetvalue(res, 0, 0);
  }
  PQclear(res);
  return lsn;
}

std::string InsertTransaction(PGconn* conn, int tx, int rows, int aggregates) {
  std::string error;
  std::string lsn = TryInsertTransaction(conn, tx, rows, &error, aggregates);
  if (lsn.empty()) ADD_FAILURE() << "insert transaction " << tx << ": " << error;
  return lsn;
}

bool WaitForSlotActive(const Harness& h, bool active, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  const std::string want = active ? "t" : "f";
  for (;;) {
    if (h.QueryValue("SELECT active FROM pg_replication_slots WHERE slot_name = '" + h.slot +
                     "'") == want) {
      return true;
    }
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(50));
  }
}

bool WaitForQuiet(TopicConsumer& consumer, size_t count, milliseconds timeout, milliseconds quiet) {
  if (!consumer.WaitForCount(count, timeout)) return false;
  size_t last = consumer.Count();
  auto stable_since = Clock::now();
  while (Clock::now() - stable_since < quiet) {
    std::this_thread::sleep_for(milliseconds(100));
    size_t now = consumer.Count();
    if (now != last) {
      last = now;
      stable_since = Clock::now();
    }
  }
  return true;
}

std::map<std::string, Row> OutboxRows(const Harness& h) {
  std::map<std::string, Row> out;
  for (const auto& r : h.Query("SELECT id::text, (payload->>'tx')::int, (payload->>'row')::int, "
                               "aggregate_id FROM public.outbox")) {
    out[r[0]] = Row{std::stoi(r[1]), std::stoi(r[2]), r[3]};
  }
  return out;
}

std::map<std::string, int> CountIds(const std::vector<ConsumedRecord>& records,
                                    const std::map<std::string, Row>& rows) {
  std::map<std::string, int> seen;
  for (const auto& rec : records) {
    auto id = rec.Header("id");
    if (!id) {
      ADD_FAILURE() << "record without an id header at " << rec.topic << "/" << rec.partition << "@"
                    << rec.offset;
      continue;
    }
    ++seen[*id];
    auto it = rows.find(*id);
    if (it == rows.end()) {
      ADD_FAILURE() << "record with unknown id " << *id;
    } else if (rec.key != it->second.aggregate_id) {
      ADD_FAILURE() << "record " << *id << " has key " << rec.key.value_or("(null)")
                    << ", expected " << it->second.aggregate_id;
    }
  }
  return seen;
}

int ExpectAllArrivedAtLeastOnce(const std::map<std::string, Row>& rows,
                                const std::map<std::string, int>& seen) {
  int missing = 0, duplicated = 0;
  for (const auto& [id, row] : rows) {
    const int n = seen.count(id) ? seen.at(id) : 0;
    if (n == 0) {
      if (++missing <= 10)
        ADD_FAILURE() << "lost: id " << id << " tx " << row.tx << " row " << row.row;
    } else if (n > 1) {
      ++duplicated;
    }
  }
  EXPECT_EQ(missing, 0) << "of " << rows.size() << " events";
  return duplicated;
}

void ExpectAllArrivedExactlyOnce(const std::vector<ConsumedRecord>& records,
                                 const std::map<std::string, Row>& rows) {
  const auto seen = CountIds(records, rows);
  for (const auto& [id, row] : rows) {
    EXPECT_EQ(seen.count(id) ? seen.at(id) : 0, 1) << "id " << id << " (tx " << row.tx << ")";
  }
}

void ExpectFirstArrivalsInOrder(const std::vector<ConsumedRecord>& records,
                                const std::map<std::string, Row>& rows) {
  std::map<std::string, std::pair<int, int>> last_first_arrival;
  std::set<std::string> arrived;
  int out_of_order = 0;
  for (const auto& rec : records) {
    auto id = rec.Header("id");
    if (!id || !arrived.insert(*id).second) continue;
    auto row_it = rows.find(*id);
    if (row_it == rows.end()) continue;  // reported by CountIds
    const Row& row = row_it->second;
    const std::pair<int, int> pos{row.tx, row.row};
    auto [it, fresh] = last_first_arrival.emplace(row.aggregate_id, pos);
    if (!fresh) {
      if (pos <= it->second && ++out_of_order <= 10) {
        ADD_FAILURE() << "aggregate " << row.aggregate_id << ": tx " << pos.first << " row "
                      << pos.second << " first arrived after tx " << it->second.first << " row "
                      << it->second.second;
      }
      it->second = pos;
    }
  }
  EXPECT_EQ(out_of_order, 0);
}

std::unique_ptr<ChildProcess> StartStreaming(Harness& h, const std::vector<std::string>& argv) {
  auto child = ChildProcess::Start(argv);
  if (child == nullptr) return nullptr;
  // The slot is also active while pgoutbox creates it, so first wait until
  // start-up is past that step, then until the stream holds the slot.
  const auto deadline = Clock::now() + seconds(20);
  while (child->Output().find("streaming from slot") == std::string::npos &&
         Clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  if (!WaitForSlotActive(h, true, std::chrono::duration_cast<milliseconds>(
                                      std::max(deadline - Clock::now(), Clock::duration{}))) ||
      child->Output().find("streaming from slot") == std::string::npos) {
    ADD_FAILURE() << "pgoutbox did not start streaming within 20 s:\n" << child->Output();
    return nullptr;
  }
  return child;
}

void StopCleanly(ChildProcess& child) {
  ASSERT_TRUE(child.Running()) << child.Output();
  child.Signal(SIGTERM);
  EXPECT_EQ(child.Wait(seconds(20)), 0) << child.Output();
}

}  // namespace pgoutbox::testing
