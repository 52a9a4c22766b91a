#include "cli/config_file.h"

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>

#include "cli/suggest.h"

namespace pgoutbox::cli {

namespace {

bool IsKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

// A bare value runs to whitespace, a comment or an array's punctuation.
bool IsBareChar(char c) {
  return c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '#' && c != ',' && c != '[' &&
         c != ']' && c != '"' && c != '\'';
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out += static_cast<char>(0xC0 | (cp >> 6));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *out += static_cast<char>(0xE0 | (cp >> 12));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *out += static_cast<char>(0xF0 | (cp >> 18));
    *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class TextParser {
 public:
  explicit TextParser(std::string_view text) : text_(text) {}

  Result<std::vector<ConfigEntry>> Parse() {
    // A NUL would cut a value short where it is handed on as a C string.
    if (const size_t nul = text_.find('\0'); nul != std::string_view::npos) {
      const auto line = 1 + std::count(text_.begin(), text_.begin() + nul, '\n');
      return Status::InvalidArgument("line " + std::to_string(line) +
                                     ": a NUL byte (is this a text file?)");
    }
    std::vector<ConfigEntry> entries;
    std::string section;
    while (true) {
      SkipBlanks();
      if (AtEnd()) break;
      const char c = Peek();
      if (c == '\n') {
        Advance();
        continue;
      }
      if (c == '#') {
        SkipComment();
        continue;
      }
      if (c == '[') {
        Advance();
        SkipBlanks();
        std::string name = Key();
        if (name.empty()) return Error("expected a section name after [");
        SkipBlanks();
        if (AtEnd() || Peek() != ']') return Error("expected ] after the section name");
        Advance();
        RETURN_IF_ERROR(EndOfLine());
        section = std::move(name);
        continue;
      }
      ConfigEntry entry;
      entry.section = section;
      entry.line = line_;
      entry.key = Key();
      if (entry.key.empty()) {
        return Error(std::string("expected a key (a flag's name, like retention) but found '") + c +
                     "'");
      }
      SkipBlanks();
      if (AtEnd() || Peek() != '=') {
        return Error("expected = after " + entry.key + " (key = value)");
      }
      Advance();
      SkipBlanks();
      if (AtEnd() || Peek() == '\n' || Peek() == '#') {
        return Error(entry.key + " has no value (write \"\" for an empty one)");
      }
      if (Peek() == '[') {
        Advance();
        entry.array = true;
        RETURN_IF_ERROR(Array(&entry.values));
      } else {
        ASSIGN_OR_RETURN(std::string value, Scalar());
        entry.values.push_back(std::move(value));
      }
      RETURN_IF_ERROR(EndOfLine());
      entries.push_back(std::move(entry));
    }
    return entries;
  }

 private:
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return text_[pos_]; }
  void Advance() {
    if (text_[pos_] == '\n') ++line_;
    ++pos_;
  }
  void SkipBlanks() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t' || Peek() == '\r')) Advance();
  }
  void SkipComment() {
    while (!AtEnd() && Peek() != '\n') Advance();
  }
  Status Error(const std::string& what) const {
    return Status::InvalidArgument("line " + std::to_string(line_) + ": " + what);
  }

  std::string Key() {
    std::string key;
    while (!AtEnd() && IsKeyChar(Peek())) {
      key += Peek();
      Advance();
    }
    return key;
  }

  // After a section or a value: blanks, maybe a comment, then the line ends.
  Status EndOfLine() {
    SkipBlanks();
    if (!AtEnd() && Peek() == '#') SkipComment();
    if (AtEnd()) return Status::Ok();
    if (Peek() != '\n') {
      return Error(std::string("unexpected '") + Peek() +
                   "' after the value (quote a value with spaces: key = \"two words\")");
    }
    Advance();
    return Status::Ok();
  }

  Result<std::string> Scalar() {
    const char c = Peek();
    if (c == '"') return BasicString();
    if (c == '\'') return LiteralString();
    std::string value;
    while (!AtEnd() && IsBareChar(Peek())) {
      value += Peek();
      Advance();
    }
    if (value.empty()) return Error(std::string("unexpected '") + c + "' where a value should be");
    return value;
  }

  Result<std::string> LiteralString() {
    const int start = line_;
    Advance();  // '
    std::string value;
    while (!AtEnd() && Peek() != '\'' && Peek() != '\n') {
      value += Peek();
      Advance();
    }
    if (AtEnd() || Peek() != '\'') {
      return Status::InvalidArgument("line " + std::to_string(start) +
                                     ": the string opened with ' is not closed on its line");
    }
    Advance();
    return value;
  }

  Result<std::string> BasicString() {
    const int start = line_;
    Advance();  // "
    std::string value;
    while (!AtEnd() && Peek() != '"' && Peek() != '\n') {
      char c = Peek();
      Advance();
      if (c != '\\') {
        value += c;
        continue;
      }
      if (AtEnd()) break;
      const char e = Peek();
      Advance();
      switch (e) {
        case '"':
          value += '"';
          break;
        case '\\':
          value += '\\';
          break;
        case 'n':
          value += '\n';
          break;
        case 't':
          value += '\t';
          break;
        case 'r':
          value += '\r';
          break;
        case 'b':
          value += '\b';
          break;
        case 'f':
          value += '\f';
          break;
        case 'u':
        case 'U': {
          const size_t digits = e == 'u' ? 4 : 8;
          if (pos_ + digits > text_.size())
            return Error("\\" + std::string(1, e) + " needs " + std::to_string(digits) +
                         " hex digits");
          uint32_t cp = 0;
          for (size_t i = 0; i < digits; ++i) {
            const char h = Peek();
            Advance();
            int v = (h >= '0' && h <= '9')   ? h - '0'
                    : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                    : (h >= 'A' && h <= 'F') ? h - 'A' + 10
                                             : -1;
            if (v < 0) return Error(std::string("\\") + e + " needs hex digits");
            cp = cp * 16 + static_cast<uint32_t>(v);
          }
          if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0) {
            return Error("\\" + std::string(1, e) + " is not a character");
          }
          AppendUtf8(cp, &value);
          break;
        }
        default:
          return Error(std::string("unknown escape \\") + e +
                       " in a \"string\" (write \\\\ for a backslash, or use a 'literal string')");
      }
    }
    if (AtEnd() || Peek() != '"') {
      return Status::InvalidArgument("line " + std::to_string(start) +
                                     ": the string opened with \" is not closed on its line");
    }
    Advance();
    return value;
  }

  // After '[': values separated by commas, a trailing comma allowed, over
  // any number of lines and comments, up to ']'.
  Status Array(std::vector<std::string>* values) {
    const int start = line_;
    bool expect_value = true;
    while (true) {
      while (!AtEnd() && (Peek() == ' ' || Peek() == '\t' || Peek() == '\r' || Peek() == '\n')) {
        Advance();
      }
      if (AtEnd()) {
        return Status::InvalidArgument("line " + std::to_string(start) +
                                       ": the array opened with [ is not closed");
      }
      const char c = Peek();
      if (c == '#') {
        SkipComment();
        continue;
      }
      if (c == ']') {
        Advance();
        return Status::Ok();
      }
      if (c == ',') {
        if (expect_value) return Error("a value is missing before ','");
        Advance();
        expect_value = true;
        continue;
      }
      if (!expect_value) return Error("expected ',' or ']' between the values of an array");
      if (c == '[') return Error("arrays inside arrays are not supported");
      ASSIGN_OR_RETURN(std::string value, Scalar());
      values->push_back(std::move(value));
      expect_value = false;
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
  int line_ = 1;
};

bool IsReservedName(const std::string& name) {
  return name == "help" || name == "help-all" || name == "version" || name == "config";
}

// The config key of an option: its first long name, else its first short
// one; "" when it may not be set in a file.
std::string KeyOf(const CLI::Option* opt) {
  if (opt->get_positional()) return "";
  const std::vector<std::string>& lnames = opt->get_lnames();
  const std::vector<std::string>& snames = opt->get_snames();
  for (const std::string& name : lnames) {
    if (IsReservedName(name)) return "";
  }
  if (!lnames.empty()) return lnames.front();
  if (!snames.empty()) return snames.front();
  return "";
}

const CLI::Option* FindKey(const CLI::App& app, const std::string& key) {
  for (const CLI::Option* opt : app.get_options()) {
    if (KeyOf(opt) == key) return opt;
  }
  return nullptr;
}

std::vector<const CLI::App*> Subcommands(const CLI::App& root) {
  std::vector<const CLI::App*> subs;
  for (const CLI::App* sub : root.get_subcommands([](const CLI::App*) { return true; })) {
    subs.push_back(sub);
  }
  return subs;
}

Status LineError(const ConfigEntry& e, const std::string& what) {
  return Status::InvalidArgument("line " + std::to_string(e.line) + ": " + what);
}

bool TakesSeveral(const CLI::Option* opt) {
  return opt->get_expected_max() > 1 ||
         opt->get_multi_option_policy() == CLI::MultiOptionPolicy::TakeAll ||
         opt->get_multi_option_policy() == CLI::MultiOptionPolicy::Join;
}

// The entry's values as CLI11 inputs of `opt`, or why they cannot be.
Result<std::vector<std::string>> InputsFor(const CLI::Option* opt, const ConfigEntry& e) {
  if (opt->get_expected_max() == 0) {  // a switch
    if (e.array || (e.values[0] != "true" && e.values[0] != "false")) {
      return LineError(e,
                       e.key + " is a switch: write " + e.key + " = true or " + e.key + " = false");
    }
    return e.values;
  }
  if (e.array && e.values.size() != 1 && !TakesSeveral(opt)) {
    return LineError(e, e.key + " takes one value, not a list");
  }
  if (e.values.empty()) return LineError(e, e.key + " has an empty list");
  return e.values;
}

// Whether the option's environment variable is set (even to ''): it then
// takes precedence over the file.
bool SetByEnvironment(const CLI::Option* opt) {
  const std::string& name = opt->get_envname();
  return !name.empty() && std::getenv(name.c_str()) != nullptr;
}

}  // namespace

Result<std::vector<ConfigEntry>> ParseConfigText(std::string_view text) {
  return TextParser(text).Parse();
}

std::vector<std::string> ConfigKeys(const CLI::App& app) {
  std::vector<std::string> keys;
  for (const CLI::Option* opt : app.get_options()) {
    std::string key = KeyOf(opt);
    if (!key.empty()) keys.push_back(std::move(key));
  }
  return keys;
}

Result<std::vector<CLI::ConfigItem>> PlaceConfigEntries(const CLI::App& root,
                                                        const CLI::App& chosen,
                                                        const std::vector<ConfigEntry>& entries) {
  const std::vector<const CLI::App*> subs = Subcommands(root);
  std::map<std::pair<std::string, std::string>, int> seen;  // (section, key) -> line
  // The entries that apply, in file order; a section's entry replaces a
  // top-level one of the same key.
  struct Applied {
    std::string key;
    const CLI::App* owner;
    const CLI::Option* opt;
    std::vector<std::string> inputs;
  };
  std::vector<Applied> applied;
  for (const ConfigEntry& e : entries) {
    if (e.key == "config") {
      return LineError(e, "config cannot be set in a config file (it names the file)");
    }
    auto [at, fresh] = seen.emplace(std::make_pair(e.section, e.key), e.line);
    if (!fresh) {
      return LineError(e,
                       e.key + " is set twice (first on line " + std::to_string(at->second) + ")");
    }
    const CLI::App* owner = nullptr;  // the app whose option the entry sets, if it applies
    const CLI::Option* opt = nullptr;
    if (!e.section.empty()) {
      const CLI::App* section_app = nullptr;
      for (const CLI::App* sub : subs) {
        if (sub->get_name() == e.section) section_app = sub;
      }
      if (section_app == nullptr) {
        std::vector<std::string> names;
        std::string list;
        for (const CLI::App* sub : subs) {
          names.push_back(sub->get_name());
          list += (list.empty() ? "" : ", ") + sub->get_name();
        }
        std::string message = "[" + e.section + "] is not a subcommand";
        if (auto match = ClosestMatch(e.section, names)) {
          message += "; did you mean [" + *match + "]?";
        }
        return LineError(e, message + " (sections: " + list + ")");
      }
      const CLI::App* app = section_app;
      if ((opt = FindKey(*section_app, e.key)) == nullptr) {
        app = &root;
        opt = FindKey(root, e.key);
      }
      if (opt == nullptr) {
        std::vector<std::string> keys = ConfigKeys(*section_app);
        for (std::string& key : ConfigKeys(root)) keys.push_back(std::move(key));
        std::string message = "unknown key " + e.key + " for " + e.section;
        if (auto match = ClosestMatch(e.key, keys)) message += "; did you mean " + *match + "?";
        return LineError(e, message);
      }
      if (section_app == &chosen) owner = app;
    } else if ((opt = FindKey(chosen, e.key)) != nullptr) {
      owner = &chosen;
    } else if ((opt = FindKey(root, e.key)) != nullptr) {
      owner = &root;
    } else {
      for (const CLI::App* sub : subs) {
        if ((opt = FindKey(*sub, e.key)) != nullptr) break;
      }
      if (opt == nullptr) {
        std::vector<std::string> keys = ConfigKeys(root);
        for (const CLI::App* sub : subs) {
          for (std::string& key : ConfigKeys(*sub)) keys.push_back(std::move(key));
        }
        std::string message = "unknown key " + e.key;
        if (auto match = ClosestMatch(e.key, keys)) message += "; did you mean " + *match + "?";
        return LineError(e, message);
      }
    }
    // Checked whether or not it applies, so a file that works for one
    // subcommand works for all.
    ASSIGN_OR_RETURN(std::vector<std::string> inputs, InputsFor(opt, e));
    if (owner == nullptr) continue;
    auto same = std::find_if(applied.begin(), applied.end(),
                             [&e](const Applied& a) { return a.key == e.key; });
    if (same == applied.end()) {
      applied.push_back({e.key, owner, opt, std::move(inputs)});
    } else if (!e.section.empty()) {
      *same = {e.key, owner, opt, std::move(inputs)};
    }
  }
  std::vector<CLI::ConfigItem> items;
  for (Applied& a : applied) {
    if (SetByEnvironment(a.opt)) continue;
    CLI::ConfigItem item;
    if (a.owner != &root) item.parents = {a.owner->get_name()};
    item.name = std::move(a.key);
    item.inputs = std::move(a.inputs);
    items.push_back(std::move(item));
  }
  return items;
}

std::string ConfigFileFormat::to_config(const CLI::App* app, bool default_also,
                                        bool write_description, std::string prefix) const {
  return CLI::ConfigTOML().to_config(app, default_also, write_description, std::move(prefix));
}

std::vector<CLI::ConfigItem> ConfigFileFormat::from_config(std::istream& input) const {
  std::string path;
  if (const CLI::Option* opt = root_->get_config_ptr(); opt != nullptr && opt->count() > 0) {
    path = opt->as<std::string>();
  }
  const std::string text(std::istreambuf_iterator<char>(input), {});
  auto fail = [&path](const Status& status) {
    return CLI::ConfigError("config file " + path + ": " + status.message());
  };
  auto entries = ParseConfigText(text);
  if (!entries.ok()) throw fail(entries.status());
  const auto chosen = root_->get_subcommands();
  if (chosen.empty()) return {};  // CLI11 then says a subcommand is required
  auto items = PlaceConfigEntries(*root_, *chosen.front(), *entries);
  if (!items.ok()) throw fail(items.status());
  return *items;
}

}  // namespace pgoutbox::cli
