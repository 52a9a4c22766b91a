// `pgoutbox status`: the verdict and the two renderings (no server), and the
// command against a real PostgreSQL 15: healthy, far behind, slot missing,
// slot lost, slot in use, slot inactive and holding WAL (a warning, exit 0),
// --json, bad flags, unreachable database.
#include "admin/status.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <simdjson.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "support/child_process.h"
#include "support/pg_server.h"

namespace pgoutbox::admin {
namespace {

using testing::ChildProcess;
using testing::PgoutboxBinary;
using testing::PgServer;
using namespace std::chrono_literals;

constexpr uint64_t kGiB = 1024ull * 1024 * 1024;

StatusReport HealthyReport() {
  StatusReport r;
  r.slot_name = "pgoutbox";
  r.table_name = "public.outbox";
  r.current_wal = *Lsn::Parse("0/1A2B3D00");
  r.slot.exists = true;
  r.slot.plugin = "pgoutput";
  r.slot.slot_type = "logical";
  r.slot.database = "app";
  r.slot.active = true;
  r.slot.active_pid = 4242;
  r.slot.confirmed_flush = *Lsn::Parse("0/1A2B3C48");
  r.slot.restart = *Lsn::Parse("0/19000000");
  r.slot.lag_bytes = 184;
  r.slot.retained_bytes = 12897485;
  r.slot.wal_status = "reserved";
  r.outbox.rows = 42;
  r.outbox.oldest_row_age_seconds = 192.5;
  return r;
}

// ---- Without a server ---------------------------------------------------

TEST(StatusVerdictTest, HealthyUnlessMissingLostOrTooFarBehind) {
  StatusReport r = HealthyReport();
  EXPECT_TRUE(Judge(r, kGiB).healthy);

  r.slot.lag_bytes = kGiB;  // at the limit is fine
  EXPECT_TRUE(Judge(r, kGiB).healthy);
  r.slot.lag_bytes = 1288490189;
  Verdict v = Judge(r, kGiB);
  EXPECT_FALSE(v.healthy);
  EXPECT_EQ(v.reason, "slot pgoutbox is 1.2 GB behind (--max-lag 1 GB)");
  r.slot.lag_bytes.reset();  // unknown is not a reason
  EXPECT_TRUE(Judge(r, kGiB).healthy);

  r = HealthyReport();
  r.slot.wal_status = "lost";
  v = Judge(r, kGiB);
  EXPECT_FALSE(v.healthy);
  EXPECT_EQ(v.reason.rfind("slot pgoutbox is lost (wal_status = lost)", 0), 0u) << v.reason;

  r.slot = SlotStatus{};
  v = Judge(r, kGiB);
  EXPECT_FALSE(v.healthy);
  EXPECT_EQ(v.reason, "slot pgoutbox does not exist");
}

constexpr char kInactiveWarning[] =
    "slot pgoutbox is inactive: nothing is streaming from it, and it holds 12.3 MB (12897485 "
    "bytes) of WAL, which will grow until pgoutbox runs (start pgoutbox run, or drop the slot if "
    "pgoutbox is retired)";

StatusReport InactiveReport() {
  StatusReport r = HealthyReport();
  r.slot.active = false;
  r.slot.active_pid.reset();
  return r;
}

TEST(StatusVerdictTest, AnInactiveSlotHoldingWalIsWarnedAboutButHealthy) {
  StatusReport r = InactiveReport();
  Verdict v = Judge(r, kGiB);
  EXPECT_TRUE(v.healthy);
  EXPECT_EQ(v.warnings, std::vector<std::string>{kInactiveWarning});

  // Past --max-lag it is unhealthy too, and still warned about.
  r.slot.lag_bytes = 2 * kGiB;
  v = Judge(r, kGiB);
  EXPECT_FALSE(v.healthy);
  EXPECT_EQ(v.reason, "slot pgoutbox is 2 GB behind (--max-lag 1 GB)");
  EXPECT_EQ(v.warnings.size(), 1u);

  // Small amounts are shown in bytes.
  r = InactiveReport();
  r.slot.retained_bytes = 184;
  v = Judge(r, kGiB);
  ASSERT_EQ(v.warnings.size(), 1u);
  EXPECT_NE(v.warnings[0].find("it holds 184 bytes of WAL, which will grow until pgoutbox runs"),
            std::string::npos)
      << v.warnings[0];

  // Active, retaining nothing, or unknown: no warning.
  EXPECT_TRUE(Judge(HealthyReport(), kGiB).warnings.empty());
  r = InactiveReport();
  r.slot.retained_bytes = 0;
  EXPECT_TRUE(Judge(r, kGiB).warnings.empty());
  r.slot.retained_bytes.reset();
  EXPECT_TRUE(Judge(r, kGiB).warnings.empty());
}

TEST(StatusRenderTest, TextShowsTheWarningBeforeTheVerdict) {
  const StatusReport r = InactiveReport();
  EXPECT_EQ(RenderStatusText(r, Judge(r, kGiB)),
            "slot:                pgoutbox\n"
            "plugin:              pgoutput\n"
            "active:              no\n"
            "confirmed_flush_lsn: 0/1A2B3C48\n"
            "current_wal_lsn:     0/1A2B3D00\n"
            "lag:                 184 bytes\n"
            "restart_lsn:         0/19000000\n"
            "retained_wal:        12.3 MB (12897485 bytes)\n"
            "wal_status:          reserved\n"
            "safe_wal_size:       unlimited (max_slot_wal_keep_size = -1)\n"
            "table:               public.outbox\n"
            "rows:                42\n"
            "oldest_row_age:      3m 12s\n"
            "warning: " +
                std::string(kInactiveWarning) +
                "\n"
                "healthy\n");
}

TEST(StatusRenderTest, JsonListsTheWarnings) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  StatusReport r = InactiveReport();
  std::string json = RenderStatusJson(r, Judge(r, kGiB), kGiB);
  ASSERT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS) << json;
  simdjson::dom::array warnings;
  ASSERT_EQ(doc["warnings"].get_array().get(warnings), simdjson::SUCCESS) << json;
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(std::string_view(warnings.at(0).get_string().value()), kInactiveWarning);
  EXPECT_EQ(doc["healthy"].get_bool().value(), true);

  r = HealthyReport();
  json = RenderStatusJson(r, Judge(r, kGiB), kGiB);
  ASSERT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS) << json;
  ASSERT_EQ(doc["warnings"].get_array().get(warnings), simdjson::SUCCESS) << json;
  EXPECT_EQ(warnings.size(), 0u);
}

TEST(StatusRenderTest, TextIsAlignedWithHumanSizes) {
  const StatusReport r = HealthyReport();
  EXPECT_EQ(RenderStatusText(r, Judge(r, kGiB)),
            "slot:                pgoutbox\n"
            "plugin:              pgoutput\n"
            "active:              yes (pid 4242)\n"
            "confirmed_flush_lsn: 0/1A2B3C48\n"
            "current_wal_lsn:     0/1A2B3D00\n"
            "lag:                 184 bytes\n"
            "restart_lsn:         0/19000000\n"
            "retained_wal:        12.3 MB (12897485 bytes)\n"
            "wal_status:          reserved\n"
            "safe_wal_size:       unlimited (max_slot_wal_keep_size = -1)\n"
            "table:               public.outbox\n"
            "rows:                42\n"
            "oldest_row_age:      3m 12s\n"
            "healthy\n");
}

TEST(StatusRenderTest, TextForAMissingSlotAndTable) {
  StatusReport r;
  r.slot_name = "gone";
  r.table_name = "public.outbox";
  r.current_wal = *Lsn::Parse("0/3000000");
  r.outbox.note = "table public.outbox does not exist";
  EXPECT_EQ(RenderStatusText(r, Judge(r, kGiB)),
            "slot:            gone (does not exist)\n"
            "current_wal_lsn: 0/3000000\n"
            "table:           public.outbox\n"
            "rows:            unknown\n"
            "note:            table public.outbox does not exist\n"
            "unhealthy: slot gone does not exist\n");
}

TEST(StatusRenderTest, JsonHasNumbersAndNulls) {
  StatusReport r = HealthyReport();
  r.slot.active = false;
  r.slot.active_pid.reset();
  r.slot.safe_wal_size = 5000;
  r.slot_name = "odd \"name\"\n\x01";
  const std::string json = RenderStatusJson(r, Judge(r, kGiB), kGiB);
  ASSERT_EQ(json.find('\n'), json.size() - 1) << "one line";

  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS) << json;
  EXPECT_EQ(std::string_view(doc["slot"].get_string().value()), r.slot_name);
  EXPECT_EQ(doc["slot_exists"].get_bool().value(), true);
  EXPECT_EQ(doc["active"].get_bool().value(), false);
  EXPECT_TRUE(doc["active_pid"].is_null());
  EXPECT_EQ(std::string_view(doc["confirmed_flush_lsn"].get_string().value()), "0/1A2B3C48");
  EXPECT_EQ(doc["lag_bytes"].get_uint64().value(), 184u);
  EXPECT_EQ(doc["retained_wal_bytes"].get_uint64().value(), 12897485u);
  EXPECT_EQ(doc["safe_wal_size_bytes"].get_int64().value(), 5000);
  EXPECT_EQ(doc["row_count"].get_int64().value(), 42);
  EXPECT_DOUBLE_EQ(doc["oldest_row_age_seconds"].get_double().value(), 192.5);
  EXPECT_TRUE(doc["table_note"].is_null());
  EXPECT_EQ(doc["max_lag_bytes"].get_uint64().value(), kGiB);
  EXPECT_EQ(doc["healthy"].get_bool().value(), true);
  EXPECT_TRUE(doc["reason"].is_null());

  StatusReport missing;
  missing.slot_name = "gone";
  missing.table_name = "public.outbox";
  const std::string json2 = RenderStatusJson(missing, Judge(missing, 100), 100);
  ASSERT_EQ(parser.parse(json2).get(doc), simdjson::SUCCESS) << json2;
  EXPECT_EQ(doc["slot_exists"].get_bool().value(), false);
  for (const char* key :
       {"plugin", "active", "active_pid", "confirmed_flush_lsn", "lag_bytes", "retained_wal_bytes",
        "wal_status", "row_count", "oldest_row_age_seconds"}) {
    EXPECT_TRUE(doc[key].is_null()) << key;
  }
  EXPECT_EQ(doc["healthy"].get_bool().value(), false);
  EXPECT_EQ(std::string_view(doc["reason"].get_string().value()), "slot gone does not exist");
}

// A PostgreSQL 17 standby whose synced copy of the slot is ready.
StatusReport StandbyReport() {
  StatusReport r = HealthyReport();
  r.in_recovery = true;
  r.server_version_num = 170004;
  r.slot.active = false;
  r.slot.active_pid.reset();
  r.slot.failover = true;
  r.slot.synced = true;
  r.slot.conflicting = false;
  return r;
}

TEST(StatusStandbyTest, ASyncedPersistentValidSlotIsReadyToTakeOver) {
  const StatusReport r = StandbyReport();
  const Verdict v = Judge(r, kGiB);
  EXPECT_TRUE(v.healthy) << v.reason;
  ASSERT_TRUE(v.ready_to_take_over.has_value());
  EXPECT_TRUE(*v.ready_to_take_over) << v.takeover_note;
  EXPECT_TRUE(v.warnings.empty()) << "a synced slot is never active on a standby";
  const std::string text = RenderStatusText(r, v);
  EXPECT_NE(text.find("server:              standby (in recovery), PostgreSQL 17\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("synced:              yes\n"), std::string::npos) << text;
  EXPECT_NE(text.find("replay_lsn:          0/1A2B3D00\n"), std::string::npos) << text;
  EXPECT_NE(text.find("takeover:            ready: slot pgoutbox is synced from the primary at "
                      "0/1A2B3C48; pgoutbox continues from it after a promotion\n"),
            std::string::npos)
      << text;

  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  const std::string json = RenderStatusJson(r, v, kGiB);
  ASSERT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS) << json;
  EXPECT_EQ(doc["in_recovery"].get_bool().value(), true);
  EXPECT_EQ(doc["synced"].get_bool().value(), true);
  EXPECT_EQ(doc["temporary"].get_bool().value(), false);
  EXPECT_EQ(doc["ready_to_take_over"].get_bool().value(), true);
  EXPECT_TRUE(doc["invalidation_reason"].is_null());
}

TEST(StatusStandbyTest, NotReadyIsUnhealthyAndSaysWhy) {
  StatusReport r = StandbyReport();
  r.slot.temporary = true;  // the first sync has not completed
  Verdict v = Judge(r, kGiB);
  EXPECT_FALSE(v.healthy);
  EXPECT_FALSE(v.ready_to_take_over.value_or(true));
  EXPECT_NE(v.reason.find("not ready to take over: slot pgoutbox here is not persistent yet"),
            std::string::npos)
      << v.reason;

  r = StandbyReport();
  r.slot.invalidation_reason = "rows_removed";
  r.slot.conflicting = true;
  v = Judge(r, kGiB);
  EXPECT_FALSE(v.healthy);
  EXPECT_NE(v.reason.find("was invalidated (rows_removed)"), std::string::npos) << v.reason;

  r = StandbyReport();
  r.slot.synced = false;  // a copy made with the data directory, not synced
  v = Judge(r, kGiB);
  EXPECT_FALSE(v.healthy);
  EXPECT_NE(v.reason.find("synced = false"), std::string::npos) << v.reason;

  r = StandbyReport();
  r.slot = SlotStatus{};
  v = Judge(r, kGiB);
  EXPECT_FALSE(v.healthy);
  EXPECT_EQ(v.reason, "slot pgoutbox does not exist on this standby");
  EXPECT_NE(v.takeover_note.find("has not been synchronized"), std::string::npos);
  ASSERT_TRUE(v.ready_to_take_over.has_value());
  EXPECT_NE(RenderStatusJson(r, v, kGiB).find("\"ready_to_take_over\":false"), std::string::npos);
}

TEST(StatusStandbyTest, BeforeSeventeenSlotsAreNotSynced) {
  StatusReport r = StandbyReport();
  r.server_version_num = 160008;
  r.slot = SlotStatus{};
  const Verdict v = Judge(r, kGiB);
  EXPECT_FALSE(v.healthy);  // the slot is missing: the README's rule
  EXPECT_FALSE(v.ready_to_take_over.value_or(true));
  ASSERT_EQ(v.warnings.size(), 1u);
  EXPECT_NE(v.warnings[0].find("PostgreSQL 16, which does not synchronize logical slots"),
            std::string::npos)
      << v.warnings[0];
}

TEST(StatusStandbyTest, APrimaryHasNoTakeoverVerdict) {
  const Verdict v = Judge(HealthyReport(), kGiB);
  EXPECT_FALSE(v.ready_to_take_over.has_value());
  EXPECT_EQ(RenderStatusText(HealthyReport(), v).find("takeover"), std::string::npos);
}

TEST(StatusRenderTest, SeveralTablesShowTheTotalsThenEachTable) {
  StatusReport r = HealthyReport();
  r.table_name = "tenant_*.outbox, public.outbox";
  OutboxStatus a;
  a.rows = 12;
  a.oldest_row_age_seconds = 192.5;
  OutboxStatus b;
  b.rows = 0;
  OutboxStatus c;
  c.rows = 1;
  c.oldest_row_age_seconds = 7;
  r.tables = {{"public.outbox", a}, {"tenant_a.outbox", b}, {"tenant_b.outbox", c}};
  r.outbox = SumOutboxes(r.tables);
  EXPECT_EQ(r.outbox.rows, 13);
  EXPECT_EQ(r.outbox.oldest_row_age_seconds, 192.5);
  EXPECT_EQ(r.outbox.note, "");
  const std::string text = RenderStatusText(r, Judge(r, kGiB));
  EXPECT_NE(text.find("tables:              3 (tenant_*.outbox, public.outbox)\n"
                      "rows:                13\n"
                      "oldest_row_age:      3m 12s\n"
                      "table:               public.outbox: 12 rows, oldest 3m 12s\n"
                      "table:               tenant_a.outbox: 0 rows, oldest none (empty)\n"
                      "table:               tenant_b.outbox: 1 row, oldest 7s\n"
                      "healthy\n"),
            std::string::npos)
      << text;
  const std::string json = RenderStatusJson(r, Judge(r, kGiB), kGiB);
  EXPECT_NE(json.find("\"row_count\":13,"), std::string::npos) << json;
  EXPECT_NE(json.find("\"tables\":[{\"table\":\"public.outbox\",\"row_count\":12,"
                      "\"oldest_row_age_seconds\":192.500,\"table_note\":null},"),
            std::string::npos)
      << json;

  // One table whose rows are unknown makes the total unknown.
  OutboxStatus unknown;
  unknown.note = "permission denied for table outbox";
  r.tables.push_back({"tenant_c.outbox", unknown});
  r.outbox = SumOutboxes(r.tables);
  EXPECT_FALSE(r.outbox.rows.has_value());
  EXPECT_EQ(r.outbox.note, "the rows of 1 of 4 tables are unknown");
  EXPECT_NE(RenderStatusText(r, Judge(r, kGiB))
                .find("table:               tenant_c.outbox: rows unknown (permission denied "
                      "for table outbox)\n"),
            std::string::npos);
}

TEST(StatusRenderTest, FormatsAges) {
  EXPECT_EQ(FormatAge(0), "0s");
  EXPECT_EQ(FormatAge(0.7), "0s");
  EXPECT_EQ(FormatAge(42), "42s");
  EXPECT_EQ(FormatAge(60), "1m");
  EXPECT_EQ(FormatAge(192.5), "3m 12s");
  EXPECT_EQ(FormatAge(5 * 3600 + 180 + 7), "5h 3m");
  EXPECT_EQ(FormatAge(2 * 86400 + 4 * 3600 + 59), "2d 4h");
  EXPECT_EQ(FormatAge(-3), "0s");  // a clock a little ahead of the server's
}

// ---- Against PostgreSQL -------------------------------------------------

struct Outcome {
  int code = -1;
  std::string output;
};

std::string LastLine(const std::string& text) {
  std::string trimmed = text;
  while (!trimmed.empty() && trimmed.back() == '\n') trimmed.pop_back();
  return trimmed.substr(trimmed.rfind('\n') + 1);
}

class StatusTest : public ::testing::Test {
 protected:
  void SetUp() override { Start({}); }

  void Start(const testing::PgServerOptions& options) {
    pg_ = PgServer::Start(options);
    ASSERT_NE(pg_, nullptr);
    db_ = pg_->CreateDatabase("app");
    std::ifstream in(std::string(PGOUTBOX_SOURCE_DIR) + "/sql/outbox.sql");
    std::stringstream sql;
    sql << in.rdbuf();
    ASSERT_TRUE(pg_->Exec(db_, sql.str()));
  }

  Outcome RunStatus(const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> argv = {PgoutboxBinary(), "--log-level", "warn",
                                     "status",         "--db",        pg_->ConnInfo(db_)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto child = ChildProcess::Start(argv);
    if (child == nullptr) return {};
    auto code = child->Wait(60s);
    EXPECT_TRUE(code.has_value()) << child->Output();
    return {code.value_or(-1), child->Output()};
  }

  void CreateSlot(const std::string& slot = "pgoutbox") {
    ASSERT_TRUE(
        pg_->Exec(db_, "SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')"));
  }

  void InsertEvents(int n) {
    ASSERT_TRUE(pg_->Exec(db_,
                          "INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, "
                          "payload, created_at) SELECT 'order', i::text, 'Placed', '{}', "
                          "now() - interval '90 seconds' FROM generate_series(1, " +
                              std::to_string(n) + ") i"));
  }

  // Writes about `mb` MB of WAL into a table that is not the outbox.
  void WriteWal(int mb) {
    ASSERT_TRUE(pg_->Exec(db_,
                          "CREATE TABLE IF NOT EXISTS filler (x text); "
                          "INSERT INTO filler SELECT repeat(md5(i::text), 30) "
                          "FROM generate_series(1, " +
                              std::to_string(mb * 1000) + ") i"));
  }

  std::unique_ptr<PgServer> pg_;
  std::string db_;
};

TEST_F(StatusTest, ReportsEveryTableOfTheSelection) {
  CreateSlot();
  InsertEvents(3);
  ASSERT_TRUE(pg_->Exec(db_,
                        "CREATE SCHEMA tenant_a; CREATE SCHEMA tenant_b;"
                        "CREATE TABLE tenant_a.outbox (LIKE public.outbox INCLUDING ALL);"
                        "CREATE TABLE tenant_b.outbox (LIKE public.outbox INCLUDING ALL);"
                        "INSERT INTO tenant_b.outbox (aggregate_type, aggregate_id, event_type, "
                        "payload) SELECT 'order', i::text, 'Placed', '{}' "
                        "FROM generate_series(1, 4) i"));
  const Outcome out =
      RunStatus({"--table", "tenant_*.outbox,public.outbox", "--table", "public.missing"});
  ASSERT_EQ(out.code, 0) << out.output;
  for (const char* field :
       {"tables:              4 (tenant_*.outbox, public.outbox, public.missing)\n",
        "rows:                unknown\n",
        "note:                the rows of 1 of 4 tables are unknown\n",
        "table:               public.missing: rows unknown (table public.missing does not "
        "exist)\n",
        "table:               public.outbox: 3 rows, oldest 1m 3",
        "table:               tenant_a.outbox: 0 rows, oldest none (empty)\n",
        "table:               tenant_b.outbox: 4 rows, oldest "}) {
    EXPECT_NE(out.output.find(field), std::string::npos) << field << " in:\n" << out.output;
  }
  const Outcome json = RunStatus({"--table", "tenant_*.outbox", "--json"});
  ASSERT_EQ(json.code, 0) << json.output;
  EXPECT_NE(json.output.find("\"table\":\"tenant_*.outbox\",\"row_count\":4,"), std::string::npos)
      << json.output;
  EXPECT_NE(json.output.find("{\"table\":\"tenant_b.outbox\",\"row_count\":4,"), std::string::npos)
      << json.output;
}

TEST_F(StatusTest, HealthyWhenTheSlotIsNotBehind) {
  CreateSlot();
  InsertEvents(3);
  const Outcome out = RunStatus();
  ASSERT_EQ(out.code, 0) << out.output;
  for (const char* field :
       {"slot:                pgoutbox\n", "plugin:              pgoutput\n",
        "active:              no\n", "confirmed_flush_lsn: 0/", "current_wal_lsn:     0/",
        "lag:                 ", "retained_wal:        ", "wal_status:          reserved\n",
        "safe_wal_size:       unlimited", "table:               public.outbox\n",
        "rows:                3\n", "oldest_row_age:      1m 3"}) {
    EXPECT_NE(out.output.find(field), std::string::npos) << field << " in:\n" << out.output;
  }
  EXPECT_EQ(LastLine(out.output), "healthy");
}

// Nothing streams from the slot while writes go on: status says so, with the
// WAL it holds, in text and JSON, and still exits 0 within --max-lag.
TEST_F(StatusTest, WarnsThatAnInactiveSlotHoldsWal) {
  CreateSlot();
  WriteWal(2);
  const Outcome out = RunStatus();
  ASSERT_EQ(out.code, 0) << out.output;
  EXPECT_TRUE(std::regex_search(
      out.output,
      std::regex(R"(\nwarning: slot pgoutbox is inactive: nothing is streaming from it, and it )"
                 R"(holds [0-9.]+ MB \([0-9]+ bytes\) of WAL, which will grow until pgoutbox )"
                 R"(runs \(start pgoutbox run, or drop the slot if pgoutbox is retired\)\n)"
                 R"(healthy\n$)")))
      << out.output;

  const Outcome json = RunStatus({"--json"});
  ASSERT_EQ(json.code, 0) << json.output;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(json.output).get(doc), simdjson::SUCCESS) << json.output;
  EXPECT_EQ(doc["active"].get_bool().value(), false);
  EXPECT_GT(doc["retained_wal_bytes"].get_uint64().value(), 1024u * 1024);
  simdjson::dom::array warnings;
  ASSERT_EQ(doc["warnings"].get_array().get(warnings), simdjson::SUCCESS) << json.output;
  ASSERT_EQ(warnings.size(), 1u) << json.output;
  EXPECT_EQ(std::string_view(warnings.at(0).get_string().value())
                .rfind("slot pgoutbox is inactive: nothing is streaming from it, and it holds ", 0),
            0u)
      << json.output;

  // Past --max-lag it is unhealthy as before, the warning still shown.
  const Outcome behind = RunStatus({"--max-lag", "1MB"});
  EXPECT_EQ(behind.code, 1) << behind.output;
  EXPECT_NE(behind.output.find("\nwarning: slot pgoutbox is inactive"), std::string::npos)
      << behind.output;
}

TEST_F(StatusTest, UnhealthyWhenFurtherBehindThanMaxLag) {
  CreateSlot();
  WriteWal(5);
  const Outcome out = RunStatus({"--max-lag", "1MB"});
  EXPECT_EQ(out.code, 1) << out.output;
  EXPECT_TRUE(std::regex_match(
      LastLine(out.output),
      std::regex(R"(unhealthy: slot pgoutbox is [0-9.]+ MB behind \(--max-lag 1 MB\))")))
      << out.output;
  // The same lag is fine with a higher limit.
  EXPECT_EQ(RunStatus({"--max-lag", "1GB"}).code, 0);
}

TEST_F(StatusTest, UnhealthyWhenTheSlotIsMissing) {
  const Outcome out = RunStatus({"--slot", "nope"});
  EXPECT_EQ(out.code, 1) << out.output;
  EXPECT_NE(out.output.find("slot:            nope (does not exist)\n"), std::string::npos)
      << out.output;
  EXPECT_EQ(LastLine(out.output), "unhealthy: slot nope does not exist");
}

TEST_F(StatusTest, JsonParses) {
  CreateSlot();
  InsertEvents(2);
  const Outcome out = RunStatus({"--json"});
  ASSERT_EQ(out.code, 0) << out.output;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(out.output).get(doc), simdjson::SUCCESS) << out.output;
  EXPECT_EQ(std::string_view(doc["slot"].get_string().value()), "pgoutbox");
  EXPECT_EQ(std::string_view(doc["plugin"].get_string().value()), "pgoutput");
  EXPECT_EQ(doc["active"].get_bool().value(), false);
  EXPECT_TRUE(doc["active_pid"].is_null());
  EXPECT_TRUE(doc["lag_bytes"].is_uint64() || doc["lag_bytes"].is_int64());
  EXPECT_LT(doc["lag_bytes"].get_uint64().value(), 1024u * 1024);
  EXPECT_GT(doc["retained_wal_bytes"].get_uint64().value(), 0u);
  EXPECT_EQ(std::string_view(doc["wal_status"].get_string().value()), "reserved");
  EXPECT_TRUE(doc["safe_wal_size_bytes"].is_null());
  EXPECT_EQ(doc["row_count"].get_int64().value(), 2);
  EXPECT_GE(doc["oldest_row_age_seconds"].get_double().value(), 89.0);
  EXPECT_EQ(doc["max_lag_bytes"].get_uint64().value(), kGiB);
  EXPECT_EQ(doc["healthy"].get_bool().value(), true);
  EXPECT_TRUE(doc["reason"].is_null());

  const Outcome missing = RunStatus({"--json", "--slot", "nope"});
  EXPECT_EQ(missing.code, 1) << missing.output;
  ASSERT_EQ(parser.parse(missing.output).get(doc), simdjson::SUCCESS) << missing.output;
  EXPECT_EQ(doc["healthy"].get_bool().value(), false);
  EXPECT_EQ(std::string_view(doc["reason"].get_string().value()), "slot nope does not exist");
}

TEST_F(StatusTest, ShowsTheProcessUsingTheSlot) {
  CreateSlot();
  std::unique_ptr<PGconn, decltype(&PQfinish)> stream(
      PQconnectdb((pg_->ConnInfo(db_) + " replication=database").c_str()), &PQfinish);
  ASSERT_EQ(PQstatus(stream.get()), CONNECTION_OK) << PQerrorMessage(stream.get());
  std::unique_ptr<PGresult, decltype(&PQclear)> res(
      PQexec(stream.get(),
             "START_REPLICATION SLOT pgoutbox LOGICAL 0/0 (proto_version '1', "
             "publication_names 'pgoutbox')"),
      &PQclear);
  ASSERT_EQ(PQresultStatus(res.get()), PGRES_COPY_BOTH) << PQerrorMessage(stream.get());
  const Outcome out = RunStatus();
  EXPECT_EQ(out.code, 0) << out.output;
  const std::string pid = std::to_string(PQbackendPID(stream.get()));
  EXPECT_NE(out.output.find("active:              yes (pid " + pid + ")\n"), std::string::npos)
      << out.output;
  EXPECT_EQ(out.output.find("warning:"), std::string::npos) << out.output;
}

TEST_F(StatusTest, ReportsAMissingTableWithoutFailing) {
  CreateSlot();
  const Outcome out = RunStatus({"--table", "public.nope"});
  EXPECT_EQ(out.code, 0) << out.output;
  EXPECT_NE(out.output.find("rows:                unknown\n"), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("note:                table public.nope does not exist\n"),
            std::string::npos)
      << out.output;
}

TEST_F(StatusTest, BadFlagsExit2) {
  CreateSlot();
  for (const std::vector<std::string>& flags :
       std::vector<std::vector<std::string>>{{"--max-lag", "1XB"},
                                             {"--max-lag", "-1"},
                                             {"--slot", ""},
                                             {"--table", "a.b.c"},
                                             {"--bogus"}}) {
    const Outcome out = RunStatus(flags);
    EXPECT_EQ(out.code, 2) << flags[0] << ":\n" << out.output;
  }
}

TEST(StatusConnectionTest, UnreachableDatabaseExits1) {
  auto child = ChildProcess::Start(
      {PgoutboxBinary(), "status", "--db", "host=127.0.0.1 port=1 connect_timeout=5"});
  ASSERT_NE(child, nullptr);
  auto code = child->Wait(60s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 1) << child->Output();
  EXPECT_NE(child->Output().find("cannot connect"), std::string::npos) << child->Output();
}

// A slot whose WAL was removed (max_slot_wal_keep_size exceeded, then a
// checkpoint) is lost: unhealthy whatever --max-lag says.
TEST(StatusLostSlotTest, UnhealthyWhenTheSlotIsLost) {
  testing::PgServerOptions options;
  options.extra_settings = {"max_slot_wal_keep_size = 1MB", "min_wal_size = 32MB",
                            "max_wal_size = 32MB"};
  auto pg = PgServer::Start(options);
  ASSERT_NE(pg, nullptr);
  const std::string db = pg->CreateDatabase("app");
  ASSERT_TRUE(pg->Exec(db, "SELECT pg_create_logical_replication_slot('pgoutbox', 'pgoutput')"));
  for (int i = 0; i < 4 && pg->QueryValue(db,
                                          "SELECT wal_status FROM pg_replication_slots "
                                          "WHERE slot_name = 'pgoutbox'") != "lost";
       ++i) {
    ASSERT_TRUE(pg->Exec(db,
                         "CREATE TABLE IF NOT EXISTS filler (x text); "
                         "INSERT INTO filler SELECT repeat(md5(i::text), 30) "
                         "FROM generate_series(1, 20000) i"));
    ASSERT_TRUE(pg->Exec(db, "SELECT pg_switch_wal()"));
    ASSERT_TRUE(pg->Exec(db, "CHECKPOINT"));
  }
  ASSERT_EQ(pg->QueryValue(db,
                           "SELECT wal_status FROM pg_replication_slots "
                           "WHERE slot_name = 'pgoutbox'"),
            "lost");
  auto child = ChildProcess::Start({PgoutboxBinary(), "--log-level", "warn", "status", "--db",
                                    pg->ConnInfo(db), "--max-lag", "10GB"});
  ASSERT_NE(child, nullptr);
  auto code = child->Wait(60s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 1) << child->Output();
  EXPECT_NE(child->Output().find("wal_status:          lost\n"), std::string::npos)
      << child->Output();
  EXPECT_NE(child->Output().find("unhealthy: slot pgoutbox is lost (wal_status = lost)"),
            std::string::npos)
      << child->Output();
}

}  // namespace
}  // namespace pgoutbox::admin
