#include "util/bzip2_file.h"

#include <bzlib.h>

#include <algorithm>

#include "util/files.h"

namespace saturn {

Result<std::string> Bunzip2(const std::string& compressed, const std::string& name) {
  std::string out;
  size_t pos = 0;  // start of the stream being decompressed
  char buf[1 << 16];
  while (pos < compressed.size()) {
    bz_stream s{};
    if (BZ2_bzDecompressInit(&s, /*verbosity=*/0, /*small=*/0) != BZ_OK) {
      return Status::Internal(name + ": cannot start bzip2 decompression (out of memory?)");
    }
    size_t fed = pos;  // input handed to libbz2 so far; its avail_in is 32-bit, so feed in parts
    auto feed = [&] {
      s.next_in = const_cast<char*>(compressed.data() + fed);
      s.avail_in = static_cast<unsigned>(std::min<size_t>(compressed.size() - fed, 1u << 30));
      fed += s.avail_in;
    };
    feed();
    int rc = BZ_OK;
    while (rc == BZ_OK) {
      if (s.avail_in == 0) feed();
      s.next_out = buf;
      s.avail_out = sizeof(buf);
      rc = BZ2_bzDecompress(&s);
      out.append(buf, sizeof(buf) - s.avail_out);
      if (rc == BZ_OK && s.avail_in == 0 && fed == compressed.size() && s.avail_out != 0) {
        // All the input is consumed, yet the stream has not ended: the file is cut short.
        rc = BZ_UNEXPECTED_EOF;
      }
    }
    const size_t used = (fed - pos) - s.avail_in;
    BZ2_bzDecompressEnd(&s);
    if (rc != BZ_STREAM_END) {
      std::string why = rc == BZ_UNEXPECTED_EOF ? "the data ends early (truncated file?)"
                        : rc == BZ_DATA_ERROR_MAGIC ? "not bzip2 data"
                                                    : "corrupt bzip2 data";
      return Status::UserError(name + ": cannot decompress: " + why +
                               "; expected an intact .bz2 file (or rename a plain text file)");
    }
    pos += used;
  }
  return out;
}

Result<std::string> ReadMaybeBzip2(const std::string& path) {
  Result<std::string> raw = ReadFile(path);
  if (!raw.ok()) return raw.status();
  const std::string ext = ".bz2";
  if (path.size() >= ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0) {
    return Bunzip2(*raw, path);
  }
  return raw;
}

}  // namespace saturn
