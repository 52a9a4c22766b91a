// The config file (cli/config_file.h): its syntax, and through the whole
// command line (cli/app.h) which flags it sets, the precedence flag >
// environment > file > default, and the errors (exit 2) for what it must not
// hold.
#include "cli/config_file.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "cli/app.h"
#include "cli/scoped_env.h"

namespace pgoutbox::cli {
namespace {

// A file in a fresh temporary directory, removed with it.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char dir[] = "/tmp/pgoutbox-config-XXXXXX";
    dir_ = mkdtemp(dir);
    path_ = dir_ + "/pgoutbox.conf";
    std::ofstream(path_) << content;
  }
  ~TempFile() { std::filesystem::remove_all(dir_); }
  const std::string& path() const { return path_; }

 private:
  std::string dir_, path_;
};

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The values an option of `subcommand` ended up with after parsing.
std::vector<std::string> Results(const CommandLine& line, const std::string& subcommand,
                                 const std::string& flag) {
  const CLI::App* app = subcommand.empty() ? &line.app() : line.app().get_subcommand(subcommand);
  return app->get_option(flag)->results();
}

std::vector<std::string> V(std::initializer_list<std::string> values) { return values; }

// ---- syntax ----------------------------------------------------------------

TEST(ConfigTextTest, ScalarsArraysSectionsAndComments) {
  auto entries = ParseConfigText(
      "# a comment\n"
      "\n"
      "db = \"host=db password='a#b' dbname=shop\"   # the database\n"
      "retention=7d\n"
      "  slot = 'C:\\path\\no\\escapes'\n"
      "message-prefix = \"\"\n"
      "escaped = \"tab\\there \\\"quoted\\\" \\\\ \\u00e9\"\n"
      "no-create = true\n"
      "table = [\"public.outbox\", 'billing.outbox',\n"
      "  tenant_*.outbox,  # a pattern\n"
      "]\n"
      "X = [ \"acks=all\" ]\n"
      "empty = []\n"
      "[status]\n"
      "max-lag = 512MB\n");
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  ASSERT_EQ(entries->size(), 10u);
  const auto& e = *entries;
  EXPECT_EQ(e[0].key, "db");
  EXPECT_EQ(e[0].values, V({"host=db password='a#b' dbname=shop"}));
  EXPECT_EQ(e[0].line, 3);
  EXPECT_FALSE(e[0].array);
  EXPECT_EQ(e[1].values, V({"7d"}));
  EXPECT_EQ(e[2].values, V({"C:\\path\\no\\escapes"}));
  EXPECT_EQ(e[3].values, V({""}));
  EXPECT_EQ(e[4].values, V({"tab\there \"quoted\" \\ \xC3\xA9"}));
  EXPECT_EQ(e[5].values, V({"true"}));
  EXPECT_TRUE(e[6].array);
  EXPECT_EQ(e[6].values, V({"public.outbox", "billing.outbox", "tenant_*.outbox"}));
  EXPECT_EQ(e[6].line, 9);
  EXPECT_EQ(e[7].key, "X");
  EXPECT_EQ(e[7].values, V({"acks=all"}));
  EXPECT_EQ(e[7].line, 12);
  EXPECT_TRUE(e[8].array);
  EXPECT_TRUE(e[8].values.empty());
  EXPECT_EQ(e[8].section, "");
  EXPECT_EQ(e[9].section, "status");
  EXPECT_EQ(e[9].key, "max-lag");
  EXPECT_EQ(e[9].line, 15);
}

TEST(ConfigTextTest, SyntaxErrorsNameTheLine) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"db = \"open\n", "line 1: the string opened with \" is not closed"},
      {"a = 1\ndb 'x'\n", "line 2: expected = after db"},
      {"a = 1\n\nretention =\n", "line 3: retention has no value"},
      {"retention = # nothing\n", "line 1: retention has no value"},
      {"db = host=x port=5\n", "line 1: unexpected 'p' after the value (quote a value"},
      {"db = \"a\" \"b\"\n", "line 1: unexpected '\"' after the value"},
      {"db = \"\\q\"\n", "line 1: unknown escape \\q"},
      {"db = \"\\u12\"\n", "line 1: \\u needs"},
      {"table = [\"a\" \"b\"]\n", "line 1: expected ',' or ']'"},
      {"table = [,]\n", "line 1: a value is missing before ','"},
      {"table = [[\"a\"]]\n", "line 1: arrays inside arrays"},
      {"table = [\"a\",\n\"b\"\n", "line 1: the array opened with [ is not closed"},
      {"[run\n", "line 1: expected ] after the section name"},
      {"[]\n", "line 1: expected a section name"},
      {"= 1\n", "line 1: expected a key"},
      {"slot = 'x\n", "line 1: the string opened with ' is not closed"},
      {std::string("a = 1\nslot = x\0y\n", 17), "line 2: a NUL byte"},
  };
  for (const auto& [text, message] : cases) {
    auto entries = ParseConfigText(text);
    ASSERT_FALSE(entries.ok()) << text;
    EXPECT_EQ(entries.status().code(), Status::Code::kInvalidArgument);
    EXPECT_TRUE(Contains(entries.status().message(), message))
        << text << " -> " << entries.status().message();
  }
}

// ---- through the command line ----------------------------------------------

// A value for `opt` that its checks accept and that is not its default where
// that can be told apart: a switch is turned on; an option with a fixed set
// of values takes its default (the only value known to pass); others get a
// word of their own.
std::string SampleValue(const CLI::Option* opt, const std::string& key,
                        const std::string& password_file) {
  if (opt->get_expected_max() == 0) return "true";
  if (key == "db-password-file") return password_file;
  if (!opt->get_default_str().empty()) return opt->get_default_str();
  if (key == "end-lsn") return "0/16B3748";
  return "from-file-" + key;
}

// Every flag of every subcommand (and every global one) can be set from the
// file: one file sets them all, with no flag on the command line, and each
// option of the parsed subcommand then holds the file's value. The list of
// flags is CLI11's own (what --help and the README's flag tables show), so
// a new flag is covered without touching this test.
TEST(ConfigFileTest, EveryFlagCanBeSetFromTheFile) {
  CommandLine probe;
  const std::vector<const CLI::App*> subcommands =
      probe.app().get_subcommands([](const CLI::App*) { return true; });
  ASSERT_GE(subcommands.size(), 5u);
  TempFile password("secret\n");
  ASSERT_EQ(chmod(password.path().c_str(), 0600), 0);
  size_t checked = 0;
  for (const CLI::App* sub : subcommands) {
    const std::string name = sub->get_name();
    // No PGOUTBOX_* variable may stand in for the file.
    std::vector<std::unique_ptr<ScopedEnv>> cleared;
    std::string text;
    std::vector<std::pair<const CLI::App*, std::string>> expected;  // app, key
    for (const CLI::App* app : {static_cast<const CLI::App*>(&probe.app()), sub}) {
      for (const CLI::Option* opt : app->get_options()) {
        if (!opt->get_envname().empty()) {
          cleared.push_back(std::make_unique<ScopedEnv>(opt->get_envname().c_str(), nullptr));
        }
      }
      for (const std::string& key : ConfigKeys(*app)) {
        const CLI::Option* opt = app->get_option_no_throw(key.size() == 1 ? "-" + key : "--" + key);
        ASSERT_NE(opt, nullptr) << key;
        text += key + " = \"" + SampleValue(opt, key, password.path()) + "\"\n";
        expected.emplace_back(app, key);
      }
    }
    // Every option but help, version and config has a key.
    for (const CLI::Option* opt : sub->get_options()) {
      const std::string flag = opt->get_name();
      if (flag == "--help" || flag == "--help-all") continue;
      bool keyed = false;
      for (const std::string& key : ConfigKeys(*sub)) {
        keyed = keyed || flag == (key.size() == 1 ? "-" + key : "--" + key);
      }
      EXPECT_TRUE(keyed) << name << " " << flag << " has no config key";
    }
    TempFile file(text);
    CommandLine line;
    ParseOutcome o = line.Parse({"--config", file.path(), name});
    ASSERT_EQ(o.exit_code, 0) << name << ":\n" << o.err << "\nfile:\n" << text;
    ASSERT_NE(o.command, nullptr) << name;
    for (const auto& [app, key] : expected) {
      const std::string flag = key.size() == 1 ? "-" + key : "--" + key;
      const CLI::App* parsed = app == &probe.app() ? &line.app() : line.app().get_subcommand(name);
      const CLI::Option* opt = parsed->get_option(flag);
      ASSERT_EQ(opt->count(), 1u) << name << " " << flag << " was not set from the file";
      if (opt->get_expected_max() == 0) {
        EXPECT_TRUE(opt->as<bool>()) << name << " " << flag;
      } else {
        // A list option splits "a,b" at commas; the samples have none.
        EXPECT_EQ(opt->results(), V({SampleValue(opt, key, password.path())}))
            << name << " " << flag;
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 60u);
  std::cerr << checked << " flags of " << subcommands.size()
            << " subcommands (globals included) set from the file\n";
}

TEST(ConfigFileTest, FlagBeatsEnvironmentBeatsFileBeatsDefault) {
  ScopedEnv no_slot("PGOUTBOX_SLOT", nullptr);
  ScopedEnv no_db("PGOUTBOX_DB", nullptr);
  ScopedEnv no_brokers("PGOUTBOX_BROKERS", nullptr);
  TempFile file("db = \"dbname=file\"\nbrokers = \"file:9092\"\nslot = \"file_slot\"\n");
  const std::vector<std::string> run = {"--config", file.path(), "run"};
  {  // default: nothing sets --publication
    CommandLine line;
    ASSERT_EQ(line.Parse(run).exit_code, 0);
    EXPECT_TRUE(Results(line, "run", "--publication").empty());
    EXPECT_EQ(line.app().get_subcommand("run")->get_option("--publication")->as<std::string>(),
              "pgoutbox");
  }
  {  // the file over the default
    CommandLine line;
    ASSERT_EQ(line.Parse(run).exit_code, 0);
    EXPECT_EQ(Results(line, "run", "--slot"), V({"file_slot"}));
    EXPECT_EQ(Results(line, "run", "--db"), V({"dbname=file"}));
  }
  {  // the environment over the file
    ScopedEnv env("PGOUTBOX_SLOT", "env_slot");
    CommandLine line;
    ASSERT_EQ(line.Parse(run).exit_code, 0);
    EXPECT_EQ(Results(line, "run", "--slot"), V({"env_slot"}));
    EXPECT_EQ(Results(line, "run", "--brokers"), V({"file:9092"}));
  }
  {  // the flag over both
    ScopedEnv env("PGOUTBOX_SLOT", "env_slot");
    CommandLine line;
    std::vector<std::string> args = run;
    args.insert(args.end(), {"--slot", "flag_slot"});
    ASSERT_EQ(line.Parse(args).exit_code, 0);
    EXPECT_EQ(Results(line, "run", "--slot"), V({"flag_slot"}));
  }
}

TEST(ConfigFileTest, ListsSwitchesAndEmptyValues) {
  ScopedEnv no_table("PGOUTBOX_TABLE", nullptr);
  ScopedEnv no_http("PGOUTBOX_HTTP_ADDR", nullptr);
  ScopedEnv no_create("PGOUTBOX_NO_CREATE", nullptr);
  TempFile file(
      "db = x\nbrokers = y\n"
      "table = [\"a.outbox\", \"b.outbox,c.outbox\"]\n"
      "X = [\"acks=all\", \"linger.ms=5\"]\n"
      "no-create = true\n"
      "http-addr = \"0.0.0.0:9187\"\n");
  {
    CommandLine line;
    ASSERT_EQ(line.Parse({"--config", file.path(), "run"}).exit_code, 0);
    EXPECT_EQ(Results(line, "run", "--table"), V({"a.outbox", "b.outbox", "c.outbox"}));
    EXPECT_EQ(Results(line, "run", "-X"), V({"acks=all", "linger.ms=5"}));
    EXPECT_TRUE(line.app().get_subcommand("run")->get_option("--no-create")->as<bool>());
    EXPECT_EQ(Results(line, "run", "--http-addr"), V({"0.0.0.0:9187"}));
  }
  {  // a list on the command line replaces the file's
    CommandLine line;
    ASSERT_EQ(line.Parse({"--config", file.path(), "run", "--table", "d.outbox"}).exit_code, 0);
    EXPECT_EQ(Results(line, "run", "--table"), V({"d.outbox"}));
  }
  {  // a variable set to '' wins over the file too (PGOUTBOX_HTTP_ADDR= disables)
    ScopedEnv empty("PGOUTBOX_HTTP_ADDR", "");
    CommandLine line;
    ASSERT_EQ(line.Parse({"--config", file.path(), "run"}).exit_code, 0);
    EXPECT_EQ(line.app().get_subcommand("run")->get_option("--http-addr")->count(), 0u);
  }
  {  // no-create = false, and '' for a value
    TempFile off("db = x\nbrokers = y\nno-create = false\nhttp-addr = ''\n");
    CommandLine line;
    ASSERT_EQ(line.Parse({"--config", off.path(), "run"}).exit_code, 0);
    EXPECT_FALSE(line.app().get_subcommand("run")->get_option("--no-create")->as<bool>());
    EXPECT_EQ(Results(line, "run", "--http-addr"), V({""}));
  }
}

TEST(ConfigFileTest, OneFileServesEverySubcommandAndSectionsAreTheirOwn) {
  ScopedEnv no_db("PGOUTBOX_DB", nullptr);
  ScopedEnv no_lag("PGOUTBOX_MAX_LAG", nullptr);
  ScopedEnv no_level("PGOUTBOX_LOG_LEVEL", nullptr);
  TempFile file(
      "db = x\n"
      "brokers = y          # run and replay only\n"
      "retention = 7d       # run and cleanup\n"
      "log-level = debug    # global\n"
      "slot = top\n"
      "[status]\n"
      "max-lag = 512MB\n"
      "slot = status_slot\n"
      "[run]\n"
      "heartbeat-interval = 5s\n");
  {
    CommandLine line;
    ParseOutcome o = line.Parse({"--config", file.path(), "status"});
    ASSERT_EQ(o.exit_code, 0) << o.err;
    EXPECT_EQ(Results(line, "status", "--max-lag"), V({"512MB"}));
    EXPECT_EQ(Results(line, "status", "--slot"), V({"status_slot"}));
    EXPECT_EQ(Results(line, "", "--log-level"), V({"debug"}));
    EXPECT_EQ(line.log_level(), "debug");
  }
  {
    CommandLine line;
    ParseOutcome o = line.Parse({"--config", file.path(), "run"});
    ASSERT_EQ(o.exit_code, 0) << o.err;
    EXPECT_EQ(Results(line, "run", "--slot"), V({"top"}));
    EXPECT_EQ(Results(line, "run", "--retention"), V({"7d"}));
    EXPECT_EQ(Results(line, "run", "--heartbeat-interval"), V({"5s"}));
  }
  {  // --config may follow the subcommand, like every global flag
    CommandLine line;
    ParseOutcome o = line.Parse({"cleanup", "--config", file.path()});
    ASSERT_EQ(o.exit_code, 0) << o.err;
    EXPECT_EQ(Results(line, "cleanup", "--retention"), V({"7d"}));
  }
}

TEST(ConfigFileTest, PgoutboxConfigNamesTheFileUnlessTheFlagDoes) {
  ScopedEnv no_slot("PGOUTBOX_SLOT", nullptr);
  TempFile file("db = x\nbrokers = y\nslot = from_env_file\n");
  TempFile other("db = x\nbrokers = y\nslot = from_flag_file\n");
  ScopedEnv env("PGOUTBOX_CONFIG", file.path().c_str());
  {
    CommandLine line;
    ASSERT_EQ(line.Parse({"run"}).exit_code, 0);
    EXPECT_EQ(Results(line, "run", "--slot"), V({"from_env_file"}));
  }
  {
    CommandLine line;
    ASSERT_EQ(line.Parse({"run", "--config=" + other.path()}).exit_code, 0);
    EXPECT_EQ(Results(line, "run", "--slot"), V({"from_flag_file"}));
  }
  {  // --config '' reads no file: --db is then missing
    CommandLine line;
    ParseOutcome o = line.Parse({"--config", "", "run"});
    EXPECT_EQ(o.exit_code, 2);
    EXPECT_TRUE(Contains(o.err, "--db is required")) << o.err;
  }
}

// What a file must not hold: exit 2, one line naming the file, the line and
// the mistake.
TEST(ConfigFileTest, MistakesAreUsageErrorsNamingFileAndLine) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"db = x\nbrokers = y\nretenion = 7d\n",
       "line 3: unknown key retenion; did you mean retention?"},
      {"db = x\nbrokers = y\ncolour = blue\n", "line 3: unknown key colour"},
      {"db = x\n[status]\nbrokers = y\n", "line 3: unknown key brokers for status"},
      {"[rnu]\ndb = x\n", "line 2: [rnu] is not a subcommand; did you mean [run]?"},
      {"db = x\nbrokers = y\nno-create = yes\n",
       "line 3: no-create is a switch: write no-create = true or no-create = false"},
      {"db = [\"a\", \"b\"]\nbrokers = y\n", "line 1: db takes one value, not a list"},
      {"db = x\nbrokers = y\ndb = z\n", "line 3: db is set twice (first on line 1)"},
      {"db = x\nbrokers = y\nconfig = other.conf\n", "line 3: config cannot be set"},
      {"db = x\nbrokers = y\nhelp = true\n", "line 3: unknown key help"},
      {"db = x\nbrokers = \"y\n", "line 2: the string opened with \" is not closed"},
      // Checked even where it does not apply: status has no --retention.
      {"db = x\n[cleanup]\nretention = [\"1d\", \"2d\"]\n",
       "line 3: retention takes one value, not a list"},
  };
  for (const auto& [text, message] : cases) {
    TempFile file(text);
    CommandLine line;
    ParseOutcome o = line.Parse({"--config", file.path(), "status"});
    EXPECT_EQ(o.exit_code, 2) << text;
    EXPECT_EQ(o.command, nullptr) << text;
    EXPECT_TRUE(Contains(o.err, "pgoutbox: config file " + file.path() + ": " + message))
        << text << "\n->\n"
        << o.err;
  }
}

TEST(ConfigFileTest, AMissingFileIsAUsageError) {
  CommandLine line;
  ParseOutcome o = line.Parse({"--config", "/nonexistent/pgoutbox.conf", "status"});
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_TRUE(Contains(o.err, "pgoutbox: config file /nonexistent/pgoutbox.conf: No such file"))
      << o.err;
  CommandLine dir_line;
  o = dir_line.Parse({"--config", "/tmp", "status"});
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_TRUE(Contains(o.err, "pgoutbox: config file /tmp: is a directory")) << o.err;
}

}  // namespace
}  // namespace pgoutbox::cli
