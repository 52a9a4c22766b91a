// End-to-end test of the monitoring files against a running pgoutbox (real
// PostgreSQL 15, the mock Kafka cluster): every metric the Grafana dashboards
// of docker/grafana/dashboards/ and the alert rules of docker/alerts.yml
// query is a sample in pgoutbox's /metrics. The run makes every series
// exist: events published, a bad row sent to the dead-letter topic (the
// bad-row and publish-error counters, whose series appear with their first
// count) and a broken replication connection (the reconnect counter).
//
// The files are read from the source tree (PGOUTBOX_SOURCE_DIR); a metric
// name is a token pgoutbox_[a-z0-9_]+ of a query (a panel target's expr, a
// template variable's query, a rule's expr), histograms with the _bucket,
// _sum or _count suffix they are exposed with.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "integration/harness.h"
#include "integration/http_probe.h"
#include "integration/workload.h"

namespace pgoutbox::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kTopic[] = "outbox.event.order";
constexpr char kDeadLetterTopic[] = "outbox.dlq";

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Metric name -> where it is queried ("pgoutbox.json: panel 7 ...").
using Queried = std::map<std::string, std::string>;

void AddNames(const std::string& query, const std::string& where, Queried* out) {
  static const std::regex kName("pgoutbox_[a-z0-9_]+");
  for (std::sregex_iterator it(query.begin(), query.end(), kName), end; it != end; ++it) {
    out->emplace(it->str(), where);
  }
}

// The queries of a dashboard: every panel target's expr (panels of collapsed
// rows included) and every template variable's query.
void DashboardNames(const std::filesystem::path& path, Queried* out, int* queries) {
  simdjson::dom::parser parser;
  simdjson::dom::element dash;
  const std::string text = ReadFile(path);
  ASSERT_EQ(parser.parse(text).get(dash), simdjson::SUCCESS) << path;
  const std::string file = path.filename().string();
  auto panel_queries = [&](simdjson::dom::array panels, auto& self) -> void {
    for (simdjson::dom::element panel : panels) {
      int64_t id = 0;
      (void)panel["id"].get(id);
      simdjson::dom::array targets;
      if (panel["targets"].get(targets) == simdjson::SUCCESS) {
        for (simdjson::dom::element target : targets) {
          std::string_view expr;
          if (target["expr"].get(expr) == simdjson::SUCCESS) {
            AddNames(std::string(expr), file + ": panel " + std::to_string(id), out);
            ++*queries;
          }
        }
      }
      simdjson::dom::array nested;
      if (panel["panels"].get(nested) == simdjson::SUCCESS) self(nested, self);
    }
  };
  simdjson::dom::array panels;
  ASSERT_EQ(dash["panels"].get(panels), simdjson::SUCCESS) << path << " has no panels";
  panel_queries(panels, panel_queries);
  simdjson::dom::array variables;
  if (dash["templating"]["list"].get(variables) == simdjson::SUCCESS) {
    for (simdjson::dom::element variable : variables) {
      std::string_view name, query;
      (void)variable["name"].get(name);
      if (variable["query"]["query"].get(query) == simdjson::SUCCESS ||
          variable["query"].get(query) == simdjson::SUCCESS) {
        AddNames(std::string(query), file + ": variable " + std::string(name), out);
        ++*queries;
      }
    }
  }
}

// The exprs of an alert rule file: "expr: ..." on one line, or a block
// scalar ("expr: >-") whose lines are indented deeper than the key.
void RuleNames(const std::filesystem::path& path, Queried* out, int* queries) {
  static const std::regex kAlert(R"(^\s*- alert:\s*(\S+))");
  static const std::regex kExpr(R"(^(\s*)expr:\s*(.*)$)");
  std::istringstream in(ReadFile(path));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::string alert = "?";
  for (size_t i = 0; i < lines.size(); ++i) {
    std::smatch m;
    if (std::regex_search(lines[i], m, kAlert)) alert = m[1];
    if (!std::regex_match(lines[i], m, kExpr)) continue;
    const size_t indent = m[1].length();
    std::string expr = m[2];
    if (expr == ">-" || expr == ">" || expr == "|" || expr == "|-") {
      expr.clear();
      for (; i + 1 < lines.size(); ++i) {
        const std::string& next = lines[i + 1];
        const size_t first = next.find_first_not_of(' ');
        if (first != std::string::npos && first <= indent) break;
        expr += next + "\n";
      }
    }
    AddNames(expr, path.filename().string() + ": " + alert, out);
    ++*queries;
  }
}

// The names of the samples of a Prometheus text exposition.
std::set<std::string> SampleNames(const std::string& exposition) {
  std::set<std::string> names;
  std::istringstream in(exposition);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    names.insert(line.substr(0, line.find_first_of("{ ")));
  }
  return names;
}

// Waits until /metrics has a sample named exactly `series` (with labels);
// returns the last scrape.
std::string WaitForSeries(int port, const std::string& series, milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string metrics = Metrics(port);
  while (!MetricValue(metrics, series) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(100));
    metrics = Metrics(port);
  }
  EXPECT_TRUE(MetricValue(metrics, series)) << "no " << series << " in /metrics:\n" << metrics;
  return metrics;
}

TEST(Dashboard, EveryQueriedMetricIsInMetrics) {
  const std::filesystem::path source(PGOUTBOX_SOURCE_DIR);
  Queried queried;
  int dashboard_queries = 0, rule_queries = 0;
  std::vector<std::filesystem::path> dashboards;
  for (const auto& entry :
       std::filesystem::directory_iterator(source / "docker" / "grafana" / "dashboards")) {
    if (entry.path().extension() == ".json") dashboards.push_back(entry.path());
  }
  ASSERT_FALSE(dashboards.empty()) << "no dashboard in docker/grafana/dashboards";
  for (const auto& path : dashboards) DashboardNames(path, &queried, &dashboard_queries);
  RuleNames(source / "docker" / "alerts.yml", &queried, &rule_queries);
  // A parser that found nothing would make this test pass on anything.
  ASSERT_GE(dashboard_queries, 10) << "queries found in the dashboards";
  ASSERT_GE(rule_queries, 10) << "exprs found in docker/alerts.yml";

  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  ASSERT_TRUE(h.Exec("ALTER TABLE public.outbox ALTER COLUMN aggregate_id DROP NOT NULL"));
  h.kafka->CreateTopic(kTopic, 3);
  h.kafka->CreateTopic(kDeadLetterTopic, 1);
  TopicConsumer consumer(h.kafka->bootstraps(), {kTopic, kDeadLetterTopic});
  std::unique_ptr<ChildProcess> child = StartStreaming(h, h.Args({"--on-bad-row", "dlq"}));
  ASSERT_NE(child, nullptr);
  const int port = HttpPort(*child);
  ASSERT_NE(port, 0);

  // Two transactions of good rows, then a row without a key (a bad row, to
  // the dead-letter topic).
  PgConnPtr conn = Connect(h);
  ASSERT_NE(conn, nullptr);
  ASSERT_NE(InsertTransaction(conn.get(), 0, 3), "");
  ASSERT_NE(InsertTransaction(conn.get(), 1, 3), "");
  ASSERT_TRUE(
      h.Exec("INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload) "
             "VALUES ('order', NULL, 'Bad', '{}')"));
  ASSERT_TRUE(consumer.WaitForCount(7, seconds(30))) << consumer.Count() << " of 7 records\n"
                                                     << child->Output();
  WaitForSeries(port, "pgoutbox_bad_rows_total{action=\"dlq\",reason=\"null_column\"}",
                seconds(10));

  // Break the replication connection: pgoutbox reconnects.
  ASSERT_EQ(h.QueryValue("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_replication"), "1");
  std::string metrics =
      WaitForSeries(port, "pgoutbox_reconnects_total{target=\"postgres\"}", seconds(20));

  const std::set<std::string> scraped = SampleNames(metrics);
  for (const auto& [name, where] : queried) {
    EXPECT_TRUE(scraped.count(name)) << name << " (" << where << ") is not in /metrics";
  }
  if (::testing::Test::HasFailure()) {
    std::cerr << "/metrics:\n" << metrics;
  } else {
    std::cerr << queried.size() << " metrics queried by " << dashboard_queries
              << " dashboard queries and " << rule_queries << " rules, all in /metrics\n";
  }
  StopCleanly(*child);
}

}  // namespace
}  // namespace pgoutbox::testing
