#include "util/files.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace saturn {

Status WriteFileAtomic(const std::string& path, const std::string& contents) {
  return WriteFileAtomicWith(path, [&](FILE* f) {
    return std::fwrite(contents.data(), 1, contents.size(), f) == contents.size();
  });
}

Status WriteFileAtomicWith(const std::string& path, const std::function<bool(FILE*)>& write) {
  namespace fs = std::filesystem;
  fs::path target(path);
  std::error_code ec;
  if (target.has_parent_path()) {
    fs::create_directories(target.parent_path(), ec);
    if (ec) return Status::UserError(path + ": cannot create directory " + target.parent_path().string() + ": " + ec.message());
  }
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return Status::UserError(path + ": cannot write: " + std::strerror(errno));
  bool good = write(f);
  good = (std::fflush(f) == 0) && good;
  good = (::fsync(fileno(f)) == 0) && good;
  good = (std::fclose(f) == 0) && good;
  if (!good || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    return Status::UserError(path + ": cannot write: " + why);
  }
  return Status::Ok();
}

Result<std::string> ReadFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return Status::UserError(path + ": is a directory; give a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::UserError(path + ": cannot open: " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status CheckWritable(const std::string& path, const std::string& what) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec))
    return Status::UserError(what + " " + path + ": is a directory; give a file path");
  fs::path target(path);
  if (target.has_parent_path()) {
    fs::create_directories(target.parent_path(), ec);
    if (ec) return Status::UserError(what + " " + path + ": cannot create directory " + target.parent_path().string() + ": " + ec.message());
  }
  const std::string probe = path + ".tmp.check." + std::to_string(::getpid());
  FILE* f = std::fopen(probe.c_str(), "wb");
  if (!f) return Status::UserError(what + " " + path + ": cannot write there: " + std::strerror(errno));
  std::fclose(f);
  std::remove(probe.c_str());
  return Status::Ok();
}

bool SameFile(const std::string& a, const std::string& b) {
  namespace fs = std::filesystem;
  std::error_code ec1, ec2;
  if (fs::exists(a, ec1) && fs::exists(b, ec2)) return fs::equivalent(a, b, ec1);
  return fs::weakly_canonical(a, ec1) == fs::weakly_canonical(b, ec2);
}

}  // namespace saturn
