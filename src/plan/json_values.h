// Checked getters for the plan module's JSON files (plans, sweep states): every value that sizes,
// indexes or times something is range-checked, so that a hand-edited or damaged file is a user
// error, never a wrapped-around integer or an infinite time. They throw BadValue naming the key;
// the readers turn it into a user error naming the file.
#pragma once

#include <cmath>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace saturn {

struct BadValue : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline long long IntegerValue(const nlohmann::json& v, const std::string& what, long long lo, long long hi) {
  if (!v.is_number_integer() || v.get<long long>() < lo || v.get<long long>() > hi)
    throw BadValue(what + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
                   v.dump());
  return v.get<long long>();
}

inline long long Integer(const nlohmann::json& j, const char* key, long long lo, long long hi) {
  if (!j.contains(key)) throw BadValue(std::string(key) + " is missing");
  return IntegerValue(j.at(key), key, lo, hi);
}

// Seconds up to `most` (a year by default: longer is a typo or damage).
inline double Seconds(const nlohmann::json& j, const char* key, double most = 1e12) {
  if (!j.contains(key)) throw BadValue(std::string(key) + " is missing");
  const nlohmann::json& v = j.at(key);
  if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < 0 || v.get<double>() > most)
    throw BadValue(std::string(key) + " must be a finite number of seconds in [0, " + nlohmann::json(most).dump() + "], got " +
                   v.dump());
  return v.get<double>();
}

// A string value.
inline std::string Text(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || !j.at(key).is_string()) throw BadValue(std::string(key) + " must be a string");
  return j.at(key).get<std::string>();
}

}  // namespace saturn
