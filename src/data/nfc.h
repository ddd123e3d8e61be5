// Unicode Normalization Form C, for Hugging Face tokenizers whose normalizer is "NFC".
#pragma once

#include <string>
#include <string_view>

namespace saturn {

// Returns true and leaves *out alone when `text` is already in NFC (the common case, checked
// without copying); otherwise writes NFC(text) to *out and returns false. Invalid UTF-8 bytes
// pass through unchanged and block composition across them, so they still round trip.
bool ToNfc(std::string_view text, std::string* out);

}  // namespace saturn
