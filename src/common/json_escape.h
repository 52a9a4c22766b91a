// JsonEscape: escapes text for a JSON string (quotes, backslashes, control
// characters); bytes >= 0x20 pass through, so UTF-8 stays as it is.
#pragma once

#include <string>
#include <string_view>

namespace pgoutbox {

// `text` escaped, without the surrounding quotes.
std::string JsonEscape(std::string_view text);

}  // namespace pgoutbox
