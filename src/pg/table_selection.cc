#include "pg/table_selection.h"

#include <algorithm>
#include <cctype>

namespace pgoutbox::pg {

namespace {

// Splits one name part off the front of `s`: a "quoted" part (literal, `""`
// is a quote) or an unquoted one up to the next dot (folded to lower case,
// `*` a wildcard).
Status TakePart(std::string_view& s, const std::string& entry, std::string_view flag,
                std::string* out, bool* glob) {
  out->clear();
  *glob = false;
  if (!s.empty() && s.front() == '"') {
    size_t i = 1;
    for (;;) {
      if (i >= s.size()) {
        return Status::InvalidArgument(std::string(flag) + " " + entry +
                                       ": unterminated quoted identifier");
      }
      if (s[i] == '"') {
        if (i + 1 < s.size() && s[i + 1] == '"') {
          out->push_back('"');
          i += 2;
          continue;
        }
        ++i;
        break;
      }
      out->push_back(s[i++]);
    }
    s.remove_prefix(i);
  } else {
    size_t i = 0;
    while (i < s.size() && s[i] != '.') {
      if (s[i] == '*') *glob = true;
      out->push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(s[i]))));
      ++i;
    }
    s.remove_prefix(i);
  }
  if (out->empty()) {
    return Status::InvalidArgument(std::string(flag) + " " + entry + ": empty name");
  }
  return Status::Ok();
}

Result<TablePattern> ParsePattern(const std::string& entry, std::string_view flag) {
  std::string_view s(entry);
  TablePattern p;
  std::string first;
  bool first_glob = false;
  RETURN_IF_ERROR(TakePart(s, entry, flag, &first, &first_glob));
  if (s.empty()) {
    p.schema = "public";
    p.name = std::move(first);
    p.name_glob = first_glob;
    return p;
  }
  if (s.front() != '.') {
    return Status::InvalidArgument(std::string(flag) + " " + entry + ": expected schema.table");
  }
  s.remove_prefix(1);
  p.schema = std::move(first);
  p.schema_glob = first_glob;
  RETURN_IF_ERROR(TakePart(s, entry, flag, &p.name, &p.name_glob));
  if (!s.empty()) {
    return Status::InvalidArgument(std::string(flag) + " " + entry + ": expected schema.table");
  }
  return p;
}

std::string ShowPart(const std::string& part, bool glob) {
  if (glob) return part;
  bool plain = !part.empty();
  for (char c : part) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '_' || c == '$')) {
      plain = false;
    }
  }
  if (plain) return part;
  std::string out = "\"";
  for (char c : part) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  return out + "\"";
}

}  // namespace

bool GlobMatch(std::string_view glob, std::string_view text) {
  // Iterative matching with backtracking to the last star.
  size_t g = 0, t = 0;
  size_t star = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (g < glob.size() && glob[g] == '*') {
      star = g++;
      star_t = t;
    } else if (g < glob.size() && glob[g] == text[t]) {
      ++g;
      ++t;
    } else if (star != std::string_view::npos) {
      g = star + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (g < glob.size() && glob[g] == '*') ++g;
  return g == glob.size();
}

bool TablePattern::Matches(const TableName& table) const {
  const bool schema_ok = schema_glob ? GlobMatch(schema, table.schema) : schema == table.schema;
  if (!schema_ok) return false;
  return name_glob ? GlobMatch(name, table.name) : name == table.name;
}

std::string TablePattern::ToString() const {
  return ShowPart(schema, schema_glob) + "." + ShowPart(name, name_glob);
}

Result<TableSelection> TableSelection::Parse(const std::vector<std::string>& entries,
                                             std::string_view flag) {
  TableSelection selection;
  for (const std::string& entry : entries) {
    ASSIGN_OR_RETURN(TablePattern p, ParsePattern(entry, flag));
    const bool seen = std::any_of(
        selection.patterns_.begin(), selection.patterns_.end(), [&](const TablePattern& q) {
          return q.schema == p.schema && q.name == p.name && q.schema_glob == p.schema_glob &&
                 q.name_glob == p.name_glob;
        });
    if (!seen) selection.patterns_.push_back(std::move(p));
  }
  if (selection.patterns_.empty()) {
    return Status::InvalidArgument(std::string(flag) + ": no table given");
  }
  return selection;
}

TableSelection TableSelection::Of(const TableName& table) {
  TableSelection selection;
  selection.patterns_.push_back(TablePattern{table.schema, table.name, false, false});
  return selection;
}

bool TableSelection::HasWildcards() const {
  return std::any_of(patterns_.begin(), patterns_.end(),
                     [](const TablePattern& p) { return !p.IsExact(); });
}

std::vector<TableName> TableSelection::ExactTables() const {
  std::vector<TableName> out;
  for (const TablePattern& p : patterns_) {
    if (p.IsExact()) out.push_back(p.Exact());
  }
  return out;
}

bool TableSelection::Matches(const TableName& table) const {
  return std::any_of(patterns_.begin(), patterns_.end(),
                     [&](const TablePattern& p) { return p.Matches(table); });
}

std::string TableSelection::ToString() const {
  std::string out;
  for (const TablePattern& p : patterns_) {
    if (!out.empty()) out += ", ";
    out += p.ToString();
  }
  return out;
}

}  // namespace pgoutbox::pg
