#include "admin/sql_template.h"

#include <cctype>

namespace pgoutbox::admin {

namespace {

enum class TokenKind {
  kSpace,
  kLineComment,
  kBlockComment,
  kWord,              // keyword or unquoted identifier
  kQuotedIdentifier,  // "..."
  kString,            // '...'
  kEscapeString,      // E'...'
  kDollarString,      // $tag$...$tag$
  kSemicolon,
  kOther,  // any other single character
};

struct Token {
  TokenKind kind = TokenKind::kOther;
  std::string_view text;  // as written
  // kWord: folded to lower case; kQuotedIdentifier, kString: unescaped;
  // kDollarString: the body.
  std::string value;
  std::string_view tag;  // kDollarString: the text between the dollars
};

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool IsWordStart(char c) {
  auto u = static_cast<unsigned char>(c);
  return std::isalpha(u) || c == '_' || u >= 0x80;
}
bool IsTagChar(char c) { return IsWordStart(c) || std::isdigit(static_cast<unsigned char>(c)); }
bool IsWordChar(char c) { return IsTagChar(c) || c == '$'; }

// Reads a quoted text starting at s[*i] == quote; a doubled quote stands for
// itself, and with `backslash` a backslash escapes the next character.
// Leaves *i after the closing quote.
Result<std::string> ReadQuoted(std::string_view s, size_t* i, char quote, bool backslash) {
  std::string value;
  size_t start = *i;
  size_t j = start + 1;
  for (;;) {
    if (j >= s.size()) {
      return Status::InvalidArgument("unterminated " +
                                     std::string(quote == '"' ? "quoted identifier" : "literal") +
                                     " at offset " + std::to_string(start));
    }
    char c = s[j];
    if (backslash && c == '\\' && j + 1 < s.size()) {
      value.push_back(s[j + 1]);
      j += 2;
      continue;
    }
    if (c == quote) {
      if (j + 1 < s.size() && s[j + 1] == quote) {
        value.push_back(quote);
        j += 2;
        continue;
      }
      *i = j + 1;
      return value;
    }
    value.push_back(c);
    ++j;
  }
}

// The length of a dollar-quote delimiter ($$ or $tag$) at s[i], 0 if none.
size_t DollarDelimiterLength(std::string_view s, size_t i) {
  size_t j = i + 1;
  if (j < s.size() && IsWordStart(s[j])) {
    while (j < s.size() && IsTagChar(s[j])) ++j;
  }
  return j < s.size() && s[j] == '$' ? j + 1 - i : 0;
}

Result<std::vector<Token>> Lex(std::string_view s) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < s.size()) {
    const size_t start = i;
    const char c = s[i];
    const char next = i + 1 < s.size() ? s[i + 1] : '\0';
    Token t;
    if (IsSpace(c)) {
      while (i < s.size() && IsSpace(s[i])) ++i;
      t.kind = TokenKind::kSpace;
    } else if (c == '-' && next == '-') {
      while (i < s.size() && s[i] != '\n') ++i;
      t.kind = TokenKind::kLineComment;
    } else if (c == '/' && next == '*') {
      // PostgreSQL's block comments nest.
      int depth = 1;
      i += 2;
      while (depth > 0) {
        if (i + 1 >= s.size()) {
          return Status::InvalidArgument("unterminated comment at offset " + std::to_string(start));
        }
        if (s[i] == '/' && s[i + 1] == '*') {
          ++depth;
          i += 2;
        } else if (s[i] == '*' && s[i + 1] == '/') {
          --depth;
          i += 2;
        } else {
          ++i;
        }
      }
      t.kind = TokenKind::kBlockComment;
    } else if (c == '\'') {
      ASSIGN_OR_RETURN(t.value, ReadQuoted(s, &i, '\'', false));
      t.kind = TokenKind::kString;
    } else if ((c == 'E' || c == 'e') && next == '\'') {
      ++i;
      ASSIGN_OR_RETURN(t.value, ReadQuoted(s, &i, '\'', true));
      t.kind = TokenKind::kEscapeString;
    } else if (c == '"') {
      ASSIGN_OR_RETURN(t.value, ReadQuoted(s, &i, '"', false));
      t.kind = TokenKind::kQuotedIdentifier;
    } else if (size_t len = c == '$' ? DollarDelimiterLength(s, i) : 0; len > 0) {
      std::string_view delimiter = s.substr(i, len);
      size_t close = s.find(delimiter, i + len);
      if (close == std::string_view::npos) {
        return Status::InvalidArgument("unterminated dollar quote " + std::string(delimiter) +
                                       " at offset " + std::to_string(start));
      }
      t.kind = TokenKind::kDollarString;
      t.tag = delimiter.substr(1, len - 2);
      t.value = std::string(s.substr(i + len, close - i - len));
      i = close + len;
    } else if (IsWordStart(c)) {
      while (i < s.size() && IsWordChar(s[i])) {
        t.value.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(s[i]))));
        ++i;
      }
      t.kind = TokenKind::kWord;
    } else {
      ++i;
      t.kind = c == ';' ? TokenKind::kSemicolon : TokenKind::kOther;
    }
    t.text = s.substr(start, i - start);
    tokens.push_back(std::move(t));
  }
  return tokens;
}

bool IsIdentifier(const Token& t) {
  return t.kind == TokenKind::kWord || t.kind == TokenKind::kQuotedIdentifier;
}

// Writes tokens back as text, dropping comments and normalising the space
// between tokens: a run of space that spans lines becomes one line break
// plus the indentation of the last line (no blank lines, no trailing
// spaces); a run within a line is kept.
class Writer {
 public:
  // `keep_edges`: keep the (normalised) space before the first and after the
  // last token, as a dollar-quoted body needs; statements are trimmed.
  explicit Writer(bool keep_edges) : keep_edges_(keep_edges) {}

  void Space(std::string_view s) { pending_ += s; }
  void Text(std::string_view s) {
    if (!out_.empty() || keep_edges_) out_ += Normalize(pending_);
    pending_.clear();
    out_ += s;
  }
  bool empty() const { return out_.empty(); }
  std::string Finish() {
    if (keep_edges_) out_ += Normalize(pending_);
    pending_.clear();
    return std::move(out_);
  }

 private:
  static std::string Normalize(const std::string& space) {
    size_t newline = space.rfind('\n');
    if (newline == std::string::npos) return space;
    return space.substr(newline);
  }
  bool keep_edges_;
  std::string pending_;
  std::string out_;
};

Result<std::string> RenderBody(std::string_view body, const SqlReplacements& r);

// Writes tokens[*i] (and, for a qualified name, the two after it) with the
// replacements applied; advances *i past what it wrote.
Status WriteToken(const std::vector<Token>& tokens, size_t* i, const SqlReplacements& r,
                  Writer* w) {
  const Token& t = tokens[*i];
  switch (t.kind) {
    case TokenKind::kSpace:
      w->Space(t.text);
      break;
    case TokenKind::kLineComment:
      break;
    case TokenKind::kBlockComment:
      w->Space(" ");
      break;
    case TokenKind::kWord:
    case TokenKind::kQuotedIdentifier: {
      if (*i + 2 < tokens.size() && tokens[*i + 1].text == "." && IsIdentifier(tokens[*i + 2])) {
        auto q = r.qualified_names.find({t.value, tokens[*i + 2].value});
        if (q != r.qualified_names.end()) {
          w->Text(q->second);
          *i += 3;
          return Status::Ok();
        }
      }
      auto id = r.identifiers.find(t.value);
      w->Text(id != r.identifiers.end() ? std::string_view(id->second) : t.text);
      break;
    }
    case TokenKind::kString: {
      auto lit = r.literals.find(t.value);
      w->Text(lit != r.literals.end() ? std::string_view(lit->second) : t.text);
      break;
    }
    case TokenKind::kDollarString: {
      ASSIGN_OR_RETURN(std::string body, RenderBody(t.value, r));
      // The closing delimiter must first occur right after the body.
      std::string tag(t.tag);
      for (int n = 0;; ++n) {
        std::string delimiter = "$" + tag + "$";
        if ((body + delimiter).find(delimiter) == body.size()) {
          w->Text(delimiter + body + delimiter);
          break;
        }
        tag = "pgoutbox" + std::to_string(n);
      }
      break;
    }
    case TokenKind::kEscapeString:
    case TokenKind::kSemicolon:
    case TokenKind::kOther:
      w->Text(t.text);
      break;
  }
  ++*i;
  return Status::Ok();
}

Result<std::string> RenderBody(std::string_view body, const SqlReplacements& r) {
  ASSIGN_OR_RETURN(std::vector<Token> tokens, Lex(body));
  Writer w(/*keep_edges=*/true);
  for (size_t i = 0; i < tokens.size();) RETURN_IF_ERROR(WriteToken(tokens, &i, r, &w));
  return w.Finish();
}

}  // namespace

Result<std::vector<std::string>> RenderStatements(std::string_view sql,
                                                  const SqlReplacements& replacements) {
  ASSIGN_OR_RETURN(std::vector<Token> tokens, Lex(sql));
  std::vector<std::string> statements;
  Writer w(/*keep_edges=*/false);
  for (size_t i = 0; i < tokens.size();) {
    if (tokens[i].kind == TokenKind::kSemicolon) {
      if (!w.empty()) statements.push_back(w.Finish());
      w = Writer(/*keep_edges=*/false);
      ++i;
      continue;
    }
    RETURN_IF_ERROR(WriteToken(tokens, &i, replacements, &w));
  }
  if (!w.empty()) statements.push_back(w.Finish());
  return statements;
}

}  // namespace pgoutbox::admin
