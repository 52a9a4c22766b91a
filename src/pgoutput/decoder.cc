#include "pgoutput/decoder.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>

#include "pgoutput/byte_reader.h"

namespace pgoutbox::pgoutput {

namespace {

// "'X' (0x58)" for printable ASCII, "0x01" otherwise.
std::string DescribeByte(uint8_t b) {
  char buf[16];
  if (b >= 0x20 && b < 0x7f) {
    std::snprintf(buf, sizeof buf, "'%c' (0x%02X)", b, b);
  } else {
    std::snprintf(buf, sizeof buf, "0x%02X", b);
  }
  return buf;
}

std::string CountBytes(uint64_t n) { return std::to_string(n) + (n == 1 ? " byte" : " bytes"); }

// The cursor over one message plus its error reporting. Every method returns
// false after recording the first failure, so decoders read as a chain of
// `if (!p.X(...)) return false;`. Building the error string is the only
// allocation here, and it happens only on failure.
class Parser {
 public:
  Parser(std::span<const uint8_t> bytes, const char* type_name)
      : in_(bytes), type_name_(type_name) {}

  size_t offset() const { return in_.offset(); }
  size_t remaining() const { return in_.remaining(); }

  bool U8(uint8_t* v) { return in_.ReadU8(v) || Truncated(1); }
  bool U16(uint16_t* v) { return in_.ReadU16(v) || Truncated(2); }
  bool U32(uint32_t* v) { return in_.ReadU32(v) || Truncated(4); }
  bool I32(int32_t* v) { return in_.ReadI32(v) || Truncated(4); }
  bool I64(int64_t* v) { return in_.ReadI64(v) || Truncated(8); }
  bool Lsn64(Lsn* v) {
    uint64_t raw = 0;
    if (!in_.ReadU64(&raw)) return Truncated(8);
    *v = Lsn(raw);
    return true;
  }
  bool Bytes(size_t n, std::string_view* v) { return in_.ReadBytes(n, v) || Truncated(n); }
  bool String(std::string_view* v) {
    if (in_.ReadCString(v)) return true;
    return Fail("truncated", offset(),
                "string not NUL-terminated within the remaining " + CountBytes(remaining()));
  }

  // Reads an Int32 length that must not be negative.
  bool Length(const char* what, uint32_t* v) {
    size_t at = offset();
    int32_t len = 0;
    if (!I32(&len)) return false;
    if (len < 0) return Malformed(at, std::string("negative ") + what + " " + std::to_string(len));
    *v = static_cast<uint32_t>(len);
    return true;
  }

  // Fails unless `need` more bytes are available (checked up front for
  // arrays whose size the message announces).
  bool Require(uint64_t need) { return remaining() >= need || Truncated(need); }

  bool Truncated(uint64_t need) {
    return Fail("truncated", offset(),
                "need " + CountBytes(need) + ", have " + std::to_string(remaining()));
  }
  bool Malformed(size_t at, const std::string& what) { return Fail("malformed", at, what); }

  // Succeeds only if the whole input was consumed.
  bool ExpectEnd() {
    if (remaining() == 0) return true;
    return Malformed(offset(), CountBytes(remaining()) + " left over after a complete message");
  }

  Status TakeStatus() { return std::move(status_); }

 private:
  bool Fail(const char* problem, size_t at, const std::string& what) {
    if (status_.ok()) {
      status_ = Status::Corruption(std::string("pgoutput: ") + problem + " " + type_name_ +
                                   " message at offset " + std::to_string(at) + ": " + what);
    }
    return false;
  }

  ByteReader in_;
  const char* type_name_;
  Status status_;
};

// Returns the T held by *out, keeping its vectors' capacity, or a fresh T.
// Callers assign every field.
template <typename T>
T* Reuse(Message* out) {
  if (T* existing = std::get_if<T>(out)) return existing;
  return &out->emplace<T>();
}

bool ReadTuple(Parser& p, TupleData* tuple) {
  uint16_t ncols = 0;
  if (!p.U16(&ncols)) return false;
  tuple->columns.clear();
  // Each column takes at least its kind byte: a huge count in a short message
  // reserves no more than the message could hold, then fails on truncation.
  tuple->columns.reserve(std::min<size_t>(ncols, p.remaining()));
  for (uint16_t i = 0; i < ncols; ++i) {
    size_t kind_at = p.offset();
    uint8_t kind = 0;
    if (!p.U8(&kind)) return false;
    ColumnValue& col = tuple->columns.emplace_back();
    switch (kind) {
      case 'n':
        col.kind = ColumnValue::Kind::kNull;
        break;
      case 'u':
        col.kind = ColumnValue::Kind::kUnchangedToast;
        break;
      case 't':
      case 'b': {
        col.kind = kind == 't' ? ColumnValue::Kind::kText : ColumnValue::Kind::kBinary;
        uint32_t len = 0;
        if (!p.Length("column value length", &len) || !p.Bytes(len, &col.data)) return false;
        break;
      }
      default:
        return p.Malformed(kind_at, "unknown kind " + DescribeByte(kind) + " of tuple column " +
                                        std::to_string(i));
    }
  }
  return true;
}

bool ReadRelationId(Parser& p, RelationId* id) {
  uint32_t oid = 0;
  if (!p.U32(&oid)) return false;
  *id = RelationId(oid);
  return true;
}

bool DecodeBegin(Parser& p, Begin* m) {
  int64_t time = 0;
  uint32_t xid = 0;
  if (!p.Lsn64(&m->final_lsn) || !p.I64(&time) || !p.U32(&xid)) return false;
  m->commit_time = PgTimestamp(time);
  m->xid = TransactionId(xid);
  return true;
}

bool DecodeCommit(Parser& p, Commit* m) {
  int64_t time = 0;
  if (!p.U8(&m->flags) || !p.Lsn64(&m->commit_lsn) || !p.Lsn64(&m->end_lsn) || !p.I64(&time)) {
    return false;
  }
  m->commit_time = PgTimestamp(time);
  return true;
}

bool DecodeOrigin(Parser& p, Origin* m) { return p.Lsn64(&m->commit_lsn) && p.String(&m->name); }

bool DecodeRelation(Parser& p, Relation* m) {
  uint16_t ncols = 0;
  if (!ReadRelationId(p, &m->id) || !p.String(&m->namespace_name) || !p.String(&m->relation_name) ||
      !p.U8(&m->replica_identity) || !p.U16(&ncols)) {
    return false;
  }
  m->columns.clear();
  // A column takes at least 10 bytes: flags, an empty name's NUL, two Int32s.
  m->columns.reserve(std::min<size_t>(ncols, p.remaining() / 10));
  for (uint16_t i = 0; i < ncols; ++i) {
    RelationColumn& col = m->columns.emplace_back();
    uint32_t type_oid = 0;
    int32_t typmod = 0;
    if (!p.U8(&col.flags) || !p.String(&col.name) || !p.U32(&type_oid) || !p.I32(&typmod)) {
      return false;
    }
    col.type_oid = type_oid;
    col.type_modifier = typmod;
  }
  return true;
}

bool DecodeType(Parser& p, Type* m) {
  return p.U32(&m->type_oid) && p.String(&m->namespace_name) && p.String(&m->type_name);
}

bool DecodeInsert(Parser& p, Insert* m) {
  if (!ReadRelationId(p, &m->relation)) return false;
  size_t marker_at = p.offset();
  uint8_t marker = 0;
  if (!p.U8(&marker)) return false;
  if (marker != 'N') {
    return p.Malformed(marker_at, "expected 'N' (new tuple), got " + DescribeByte(marker));
  }
  return ReadTuple(p, &m->new_tuple);
}

bool DecodeUpdate(Parser& p, Update* m) {
  if (!ReadRelationId(p, &m->relation)) return false;
  size_t marker_at = p.offset();
  uint8_t marker = 0;
  if (!p.U8(&marker)) return false;
  m->old_kind = 0;
  m->old_tuple.columns.clear();
  if (marker == 'K' || marker == 'O') {
    m->old_kind = static_cast<char>(marker);
    if (!ReadTuple(p, &m->old_tuple)) return false;
    marker_at = p.offset();
    if (!p.U8(&marker)) return false;
    if (marker != 'N') {
      return p.Malformed(marker_at, "expected 'N' (new tuple), got " + DescribeByte(marker));
    }
  } else if (marker != 'N') {
    return p.Malformed(marker_at, "expected 'K', 'O' or 'N', got " + DescribeByte(marker));
  }
  return ReadTuple(p, &m->new_tuple);
}

bool DecodeDelete(Parser& p, Delete* m) {
  if (!ReadRelationId(p, &m->relation)) return false;
  size_t marker_at = p.offset();
  uint8_t marker = 0;
  if (!p.U8(&marker)) return false;
  if (marker != 'K' && marker != 'O') {
    return p.Malformed(marker_at, "expected 'K' or 'O' (old tuple), got " + DescribeByte(marker));
  }
  m->old_kind = static_cast<char>(marker);
  return ReadTuple(p, &m->old_tuple);
}

bool DecodeTruncate(Parser& p, Truncate* m) {
  uint32_t nrels = 0;
  if (!p.U32(&nrels) || !p.U8(&m->options) || !p.Require(uint64_t{nrels} * 4)) return false;
  m->relations.clear();
  m->relations.reserve(nrels);  // bounded by the message size just checked
  for (uint32_t i = 0; i < nrels; ++i) {
    if (!ReadRelationId(p, &m->relations.emplace_back())) return false;
  }
  return true;
}

bool DecodeLogicalMessage(Parser& p, LogicalMessage* m) {
  uint32_t len = 0;
  return p.U8(&m->flags) && p.Lsn64(&m->lsn) && p.String(&m->prefix) &&
         p.Length("content length", &len) && p.Bytes(len, &m->content);
}

}  // namespace

bool IsInsert(std::span<const uint8_t> bytes) { return !bytes.empty() && bytes[0] == 'I'; }

const char* MessageTypeName(uint8_t tag) {
  switch (tag) {
    case 'B':
      return "Begin";
    case 'C':
      return "Commit";
    case 'O':
      return "Origin";
    case 'R':
      return "Relation";
    case 'Y':
      return "Type";
    case 'I':
      return "Insert";
    case 'U':
      return "Update";
    case 'D':
      return "Delete";
    case 'T':
      return "Truncate";
    case 'M':
      return "LogicalMessage";
  }
  return "unknown";
}

Status Decode(std::span<const uint8_t> bytes, Message* out) {
  if (bytes.empty()) return Status::Corruption("pgoutput: empty message at offset 0");
  const uint8_t tag = bytes[0];
  Parser p(bytes, MessageTypeName(tag));
  uint8_t ignored = 0;
  p.U8(&ignored);  // the tag, already known to be there
  bool ok = false;
  switch (tag) {
    case 'B':
      ok = DecodeBegin(p, &out->emplace<Begin>());
      break;
    case 'C':
      ok = DecodeCommit(p, &out->emplace<Commit>());
      break;
    case 'O':
      ok = DecodeOrigin(p, &out->emplace<Origin>());
      break;
    case 'R':
      ok = DecodeRelation(p, Reuse<Relation>(out));
      break;
    case 'Y':
      ok = DecodeType(p, &out->emplace<Type>());
      break;
    case 'I':
      ok = DecodeInsert(p, Reuse<Insert>(out));
      break;
    case 'U':
      ok = DecodeUpdate(p, Reuse<Update>(out));
      break;
    case 'D':
      ok = DecodeDelete(p, Reuse<Delete>(out));
      break;
    case 'T':
      ok = DecodeTruncate(p, Reuse<Truncate>(out));
      break;
    case 'M':
      ok = DecodeLogicalMessage(p, &out->emplace<LogicalMessage>());
      break;
    default:
      return Status::Corruption("pgoutput: unknown message type " + DescribeByte(tag) +
                                " at offset 0");
  }
  if (ok) ok = p.ExpectEnd();
  if (!ok) return p.TakeStatus();
  return Status::Ok();
}

}  // namespace pgoutbox::pgoutput
