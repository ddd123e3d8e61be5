// Small pieces every SVG chart shares: text escaping and the job colours.
#pragma once

#include <cmath>
#include <string>

namespace saturn {

inline std::string SvgEscape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else if (c == '"') o += "&quot;";
    else o += c;
  }
  return o;
}

// The colour of the job ranked `rank` (in start order): golden-angle steps of hue and alternating
// lightness, so that neighbours differ.
inline std::string RankColor(size_t rank) {
  return "hsl(" + std::to_string(int(std::fmod(double(rank) * 137.508, 360.0))) + "," +
         (rank % 2 ? "55%,68%" : "70%,52%") + ")";
}

}  // namespace saturn
