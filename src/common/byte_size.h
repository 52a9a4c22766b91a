// Byte sizes as people write and read them, with PostgreSQL's units (powers
// of 1024, as in postgresql.conf and pg_size_pretty): B, kB, MB, GB, TB.
// The one parser and the one formatter of sizes: flags (--max-lag), status
// output and log messages all use these.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace pgoutbox {

// Parses "1GB", "512MB", "100kB", "1.5 GB", "4096B" or plain bytes "4096".
// Units are case-insensitive ("1gb", "100KB"); "k", "M", "G", "T" and the
// binary spellings "KiB", "MiB", "GiB", "TiB" mean the same; a space may
// separate number and unit. A fraction is rounded down to whole bytes.
// InvalidArgument (quoting `text`) for anything else, a negative number, or
// more than 2^63-1 bytes.
Result<uint64_t> ParseByteSize(const std::string& text);

// "512 bytes", "1 kB", "12.3 MB", "1.2 GB": the largest unit that keeps the
// number at least 1, one decimal unless the size is a whole number of that
// unit.
std::string FormatByteSize(uint64_t bytes);

}  // namespace pgoutbox
