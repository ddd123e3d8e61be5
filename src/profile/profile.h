// The profile file: measured step time and peak memory of each (job, technique, device count).
// Format: docs/profile.md. `saturn profile` writes it; `saturn plan` reads it.
#pragma once

#include <string>
#include <vector>

#include "util/status.h"

namespace saturn {

struct ProfileRecord {
  std::string job;
  std::string technique;
  int devices = 0;
  bool feasible = false;
  double step_seconds = 0;          // feasible records only
  long long peak_memory_bytes = 0;  // 0: not measured
  std::string knobs_json = "{}";    // technique settings, kept verbatim
  std::string reason;               // why infeasible
  int line = 0;                     // where the record starts in the file, for errors
};

struct Profile {
  std::string path;
  int version = 1;
  std::string sweep;  // the sweep's name; empty when the file does not say
  std::vector<ProfileRecord> records;
  std::string where(const ProfileRecord& r) const;  // "profile.json:12"
};

// Parses the file and checks each record on its own (types, signs, known technique names).
// Checks against a sweep happen where the planning instance is built (plan/instance.h).
Result<Profile> LoadProfile(const std::string& path);
Result<Profile> ParseProfile(const std::string& json_text, const std::string& path_for_errors);
std::string ProfileToJson(const Profile& profile);

}  // namespace saturn
