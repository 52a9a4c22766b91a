// ByteReader: a bounds-checked cursor over a byte span, reading the
// big-endian integers and NUL-terminated strings of PostgreSQL's wire
// protocol.
//
// Every Read* either consumes exactly the bytes it decodes and returns true,
// or returns false and leaves the cursor where it was, so the caller can
// report offset() and remaining() in its error. Views returned by ReadBytes
// and ReadCString point into the span given to the constructor.
//
// Private to the pgoutput module. Thread safety: none; a value on the stack.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace pgoutbox::pgoutput {

class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> bytes) : data_(bytes.data()), size_(bytes.size()) {}

  // Bytes consumed so far: the offset of the next byte from the start.
  size_t offset() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }
  bool at_end() const { return pos_ == size_; }

  bool ReadU8(uint8_t* v) {
    if (remaining() < 1) return false;
    *v = data_[pos_++];
    return true;
  }
  bool ReadU16(uint16_t* v) { return ReadBigEndian(v); }
  bool ReadU32(uint32_t* v) { return ReadBigEndian(v); }
  bool ReadU64(uint64_t* v) { return ReadBigEndian(v); }
  bool ReadI32(int32_t* v) {
    uint32_t u = 0;
    if (!ReadBigEndian(&u)) return false;
    *v = static_cast<int32_t>(u);  // two's complement, well defined since C++20
    return true;
  }
  bool ReadI64(int64_t* v) {
    uint64_t u = 0;
    if (!ReadBigEndian(&u)) return false;
    *v = static_cast<int64_t>(u);
    return true;
  }

  // Reads the next `n` bytes.
  bool ReadBytes(size_t n, std::string_view* v) {
    if (remaining() < n) return false;
    *v = std::string_view(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return true;
  }

  // Reads a string up to its NUL terminator; consumes the terminator, which
  // is not part of *v. Fails if no NUL follows.
  bool ReadCString(std::string_view* v) {
    const void* nul = remaining() == 0 ? nullptr : std::memchr(data_ + pos_, 0, remaining());
    if (nul == nullptr) return false;
    size_t len = static_cast<const uint8_t*>(nul) - (data_ + pos_);
    *v = std::string_view(reinterpret_cast<const char*>(data_ + pos_), len);
    pos_ += len + 1;
    return true;
  }

 private:
  template <typename T>
  bool ReadBigEndian(T* v) {
    if (remaining() < sizeof(T)) return false;
    T r = 0;
    for (size_t i = 0; i < sizeof(T); ++i) r = static_cast<T>((r << 8) | data_[pos_ + i]);
    *v = r;
    pos_ += sizeof(T);
    return true;
  }

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace pgoutbox::pgoutput
