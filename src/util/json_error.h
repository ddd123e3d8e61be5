// nlohmann::json's exceptions as a user should read them: the reason without the library's
// "[json.exception.parse_error.101] " prefix, and where in the text, when that can be told.
// Every reader of a user's JSON catches nlohmann::json::exception (its base: parse errors, but
// also out_of_range for a number such as 1e999 and type_error for a wrong type) and reports it
// through this, never the raw library text.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace saturn {

// "line:column" (1-based) of byte `at` of text.
std::string LineColumn(const std::string& text, size_t at);

// The reason; *where gets "line:column" in `text` when the error names a place (a parse error's
// byte, or the text of a number too large), "" otherwise.
std::string JsonReason(const nlohmann::json::exception& e, const std::string& text, std::string* where = nullptr);

}  // namespace saturn
