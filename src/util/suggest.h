// Nearest-name suggestions for typos in keys, techniques and job names.
#pragma once

#include <string>
#include <vector>

namespace saturn {

size_t EditDistance(const std::string& a, const std::string& b);
// The candidate closest to `word`, or "" when none is close enough to be a plausible typo.
std::string Nearest(const std::string& word, const std::vector<std::string>& candidates);
// " (did you mean 'x'?)" or "".
std::string DidYouMean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace saturn
