#include "util/json_error.h"

namespace saturn {

std::string LineColumn(const std::string& text, size_t at) {
  int line = 1, col = 1;
  for (size_t i = 0; i < at && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return std::to_string(line) + ":" + std::to_string(col);
}

std::string JsonReason(const nlohmann::json::exception& e, const std::string& text, std::string* where) {
  std::string what = e.what();
  if (what.rfind("[json.exception.", 0) == 0) {
    const size_t close = what.find("] ");
    if (close != std::string::npos) what = what.substr(close + 2);
  }
  if (where) {
    where->clear();
    if (const auto* p = dynamic_cast<const nlohmann::json::parse_error*>(&e)) {
      *where = LineColumn(text, p->byte > 0 ? p->byte - 1 : 0);
    } else {
      // "number overflow parsing '1e999'": find the quoted text.
      const size_t q1 = what.find('\''), q2 = what.rfind('\'');
      if (q1 != std::string::npos && q2 > q1 + 1) {
        const size_t at = text.find(what.substr(q1 + 1, q2 - q1 - 1));
        if (at != std::string::npos) *where = LineColumn(text, at);
      }
    }
  }
  return what;
}

}  // namespace saturn
