// SQL templates: the files in sql/ as a DBA reads them, with pgoutbox's
// default object names, turned into the statements to run for other names.
//
// The text is split into tokens the way PostgreSQL's scanner does (comments,
// 'string literals', "quoted identifiers", $tag$dollar quotes$tag$, words,
// punctuation), so a name is replaced only where it is that name: a whole
// identifier (`pgoutbox`, `"pgoutbox"`), a qualified name (`public.outbox`)
// or a whole string literal ('pgoutbox'); never part of a longer word, never
// in a comment. Dollar-quoted bodies (DO blocks) are PL/pgSQL, which uses the
// same scanner, so they are rewritten the same way; a body's tag is changed
// if the new body would contain it.
//
// Pure functions; thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace pgoutbox::admin {

// What to write instead of each default name. Values are SQL text, already
// quoted (quote_ident / quote_literal).
struct SqlReplacements {
  // An identifier whose name (unquoted ones folded to lower case) is the key.
  std::map<std::string, std::string> identifiers;
  // Two identifiers `schema.name` (names as above). Matched before
  // `identifiers`, so `public.outbox` is not also seen as `public`.
  std::map<std::pair<std::string, std::string>, std::string> qualified_names;
  // A string literal ('...', not E'...') whose value is the key.
  std::map<std::string, std::string> literals;
};

// Splits `sql` into its statements at top-level semicolons, applies
// `replacements`, and drops comments, blank lines and trailing spaces;
// everything else (line breaks, indentation, literals) is kept as written.
// Each statement is returned without its terminating semicolon.
// InvalidArgument for an unterminated literal, identifier, comment or dollar
// quote.
Result<std::vector<std::string>> RenderStatements(std::string_view sql,
                                                  const SqlReplacements& replacements = {});

}  // namespace pgoutbox::admin
