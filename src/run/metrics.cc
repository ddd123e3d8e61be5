#include "run/metrics.h"

#include <sstream>

#include "util/files.h"

namespace saturn {

LastMetrics ReadLastMetrics(const std::string& metrics_path) {
  LastMetrics p;
  Result<std::string> text = ReadFile(metrics_path);
  if (!text.ok()) return p;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    nlohmann::json m = nlohmann::json::parse(line, nullptr, false);
    if (m.is_object() && m.value("eval", nlohmann::json()).is_object()) {
      p.eval = m["eval"];
      p.eval_step = m.value("step", nlohmann::json());
      p.eval_final = m.value("final", false);
    }
    if (!m.is_object() || !m.contains("loss") || !m["loss"].is_number()) continue;
    p.loss = m["loss"];
    p.step = m.value("step", nlohmann::json());
    p.seconds = m.value("seconds", nlohmann::json());
    p.tokens_per_second = m.value("tokens_per_second", nlohmann::json());
    if (p.first_step.is_null()) p.first_step = p.step, p.first_seconds = p.seconds;
  }
  return p;
}

double SecondsPerStep(const LastMetrics& m) {
  if (!m.step.is_number() || !m.seconds.is_number() || !m.first_step.is_number() || !m.first_seconds.is_number())
    return 0;
  const double steps = m.step.get<double>() - m.first_step.get<double>();
  const double seconds = m.seconds.get<double>() - m.first_seconds.get<double>();
  return steps > 0 && seconds >= 0 ? seconds / steps : 0;
}

}  // namespace saturn
