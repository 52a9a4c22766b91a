#include "common/text.h"

namespace pgoutbox {

std::string Counted(uint64_t count, std::string_view singular, std::string_view plural) {
  std::string s = std::to_string(count) + " ";
  if (count == 1) return s.append(singular);
  if (plural.empty()) return s.append(singular).append("s");
  return s.append(plural);
}

}  // namespace pgoutbox
