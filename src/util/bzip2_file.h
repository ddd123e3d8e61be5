// Reading a data file whole: plain, or bzip2-compressed when the name ends in ".bz2" (the data
// sets in datasets/ ship that way). Decompression uses libbz2 and accepts concatenated streams (as
// pbzip2 writes them).
#pragma once

#include <string>

#include "util/status.h"

namespace saturn {

// The file's bytes, decompressed if it is a .bz2. A missing file or corrupt bzip2 data is a user
// error naming the file.
Result<std::string> ReadMaybeBzip2(const std::string& path);

// Decompresses bzip2 data (one or more concatenated streams). `name` is for error messages.
Result<std::string> Bunzip2(const std::string& compressed, const std::string& name);

}  // namespace saturn
