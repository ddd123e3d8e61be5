#include "run/report_views.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>
#include <vector>

#include "run/report.h"
#include "util/clock.h"
#include "util/files.h"
#include "util/svg.h"

namespace saturn {

using nlohmann::json;

namespace {

std::string Num(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

// A number of the report, or "-" when it is null.
std::string Cell(const json& v, const char* f = "%.1f") { return v.is_number() ? Num(f, v.get<double>()) : "-"; }

int JobIndex(const Plan& plan, const std::string& name) {
  for (size_t i = 0; i < plan.instance.jobs.size(); ++i)
    if (plan.instance.jobs[i].name == name) return int(i);
  return -1;
}

// (step, loss) of every training line of a job's metrics.
std::vector<std::pair<double, double>> LossCurve(const std::string& metrics_path) {
  std::vector<std::pair<double, double>> out;
  Result<std::string> text = ReadFile(metrics_path);
  if (!text.ok()) return out;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    const json m = json::parse(line, nullptr, false);
    if (m.is_object() && m.value("loss", json()).is_number() && m.value("step", json()).is_number() &&
        std::isfinite(m["loss"].get<double>()))
      out.push_back({m["step"].get<double>(), m["loss"].get<double>()});
  }
  return out;
}

void Header(std::ostringstream& o, double width, double height, const std::string& title) {
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
    << "\" font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    << "<text x=\"10\" y=\"20\" font-size=\"14\">" << SvgEscape(title) << "</text>\n";
}

// One device's bar of a launch: filled in the job's colour, hatched when it did not finish,
// labelled when wide enough.
void Bar(std::ostringstream& o, double x, double w, double y, double row_h, const std::string& fill,
         const std::string& label, const std::string& tip, bool hatched) {
  w = std::max(0.5, w);
  o << "<rect x=\"" << x << "\" y=\"" << y + 1 << "\" width=\"" << w << "\" height=\"" << row_h - 2 << "\" fill=\""
    << fill << "\" stroke=\"#333\" stroke-width=\"0.3\"><title>" << SvgEscape(tip) << "</title></rect>\n";
  if (hatched)
    o << "<rect x=\"" << x << "\" y=\"" << y + 1 << "\" width=\"" << w << "\" height=\"" << row_h - 2
      << "\" fill=\"url(#cut)\"/>\n";
  const double chars = w / 6.2;
  if (chars >= 4)
    o << "<text x=\"" << x + 2 << "\" y=\"" << y + row_h * 0.7 << "\" font-size=\"10\">"
      << SvgEscape(label.size() <= chars ? label : label.substr(0, size_t(chars) - 1) + "~") << "</text>\n";
}

}  // namespace

std::string ExecutedSvg(const Plan& plan, const json& report) {
  const double left = 150, top = 40, row_h = 18, width = 1000, right = 20;
  const std::vector<std::string> color = PlanColors(plan);
  // Rows: every device of the nodes jobs were launched on, in the plan's node order.
  std::map<std::string, int> node_devices;
  for (const PlanNode& n : plan.instance.nodes) node_devices[n.name] = n.devices;
  std::vector<std::string> nodes;
  double end = 1e-9;
  for (const json& j : report["job_results"])
    for (const json& l : j["launches"]) {
      for (const json& part : l["placement"]) {
        const std::string node = part["node"];
        if (std::find(nodes.begin(), nodes.end(), node) == nodes.end() && node_devices.count(node)) nodes.push_back(node);
      }
      end = std::max(end, l["end_seconds"].is_number() ? l["end_seconds"].get<double>() : l["start_seconds"].get<double>());
    }
  std::map<std::string, double> row0;
  double rows = 0;
  for (const PlanNode& n : plan.instance.nodes)
    if (std::count(nodes.begin(), nodes.end(), n.name)) row0[n.name] = rows, rows += n.devices;
  const double y_end = top + rows * row_h;
  std::ostringstream o;
  Header(o, width, y_end + 30, report.value("sweep", "") + " - as executed, makespan " +
                                   Cell(report["actual_makespan_seconds"]) + " s (planned " +
                                   Cell(report["planned_makespan_seconds"]) + " s)");
  o << "<defs><pattern id=\"cut\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\"><path d=\"M0,6 L6,0\" "
       "stroke=\"#333\" stroke-width=\"0.7\"/></pattern></defs>\n";
  auto x = [&](double t) { return left + (width - left - right) * t / end; };
  for (int i = 0; i <= 5; ++i) {
    const double t = end * i / 5;
    o << "<line x1=\"" << x(t) << "\" x2=\"" << x(t) << "\" y1=\"" << top << "\" y2=\"" << y_end
      << "\" stroke=\"#ddd\"/>\n<text x=\"" << x(t) << "\" y=\"" << y_end + 15 << "\" text-anchor=\"middle\">"
      << HumanSeconds(t) << "</text>\n";
  }
  for (const auto& [name, first] : row0)
    for (int d = 0; d < node_devices[name]; ++d)
      o << "<text x=\"10\" y=\"" << top + (first + d) * row_h + row_h * 0.7 << "\">" << SvgEscape(name) << " / " << d
        << "</text>\n";
  for (const json& j : report["job_results"]) {
    const std::string name = j["job"];
    const int index = JobIndex(plan, name);
    const std::string fill = index >= 0 ? color[size_t(index)] : "#bbb";
    for (const json& l : j["launches"]) {
      const double s = l["start_seconds"], e = l["end_seconds"].is_number() ? l["end_seconds"].get<double>() : end;
      const bool finished = l["ended"] == "finished";
      const std::string label = name + " (" + l["technique"].get<std::string>() + " x" +
                                std::to_string(l["devices"].get<int>()) + ")";
      const std::string tip = label + ": " + HumanSeconds(s) + " - " + HumanSeconds(e) + ", " +
                              (l["ended"].is_string() ? l["ended"].get<std::string>() : "running");
      for (const json& part : l["placement"]) {
        if (!row0.count(part["node"].get<std::string>())) continue;
        for (const json& d : part["device_ids"])
          Bar(o, x(s), x(e) - x(s), top + (row0[part["node"]] + d.get<int>()) * row_h, row_h, fill, label, tip, !finished);
      }
    }
  }
  o << "</svg>\n";
  return o.str();
}

std::string LossSvg(const Plan& plan, const json& report, const std::string& output_dir) {
  const double left = 60, top = 40, width = 1000, plot_h = 360, right = 20;
  const std::vector<std::string> color = PlanColors(plan);
  std::vector<std::pair<std::string, std::vector<std::pair<double, double>>>> curves;
  double max_step = 1, lo = INFINITY, hi = -INFINITY;
  for (const json& j : report["job_results"]) {
    const std::string name = j["job"];
    auto c = LossCurve(output_dir + "/" + name + "/metrics.jsonl");
    for (const auto& [step, loss] : c) max_step = std::max(max_step, step), lo = std::min(lo, loss), hi = std::max(hi, loss);
    curves.push_back({name, std::move(c)});
  }
  if (!(lo < hi)) lo = std::isfinite(lo) ? lo - 1 : 0, hi = lo + 2;
  const size_t legend_rows = (curves.size() + 1) / 2;
  std::ostringstream o;
  Header(o, width, top + plot_h + 40 + double(legend_rows) * 16, report.value("sweep", "") + " - training loss");
  auto x = [&](double s) { return left + (width - left - right) * s / max_step; };
  auto y = [&](double l) { return top + plot_h * (hi - l) / (hi - lo); };
  for (int i = 0; i <= 4; ++i) {
    const double l = lo + (hi - lo) * i / 4, s = max_step * i / 4;
    o << "<line x1=\"" << left << "\" x2=\"" << width - right << "\" y1=\"" << y(l) << "\" y2=\"" << y(l)
      << "\" stroke=\"#eee\"/>\n<text x=\"" << left - 5 << "\" y=\"" << y(l) + 4 << "\" text-anchor=\"end\">"
      << Num("%.2f", l) << "</text>\n<text x=\"" << x(s) << "\" y=\"" << top + plot_h + 15
      << "\" text-anchor=\"middle\">" << Num("%.0f", s) << "</text>\n";
  }
  o << "<text x=\"" << width / 2 << "\" y=\"" << top + plot_h + 30 << "\" text-anchor=\"middle\">step</text>\n";
  for (size_t k = 0; k < curves.size(); ++k) {
    const int index = JobIndex(plan, curves[k].first);
    const std::string stroke = index >= 0 ? color[size_t(index)] : "#777";
    if (!curves[k].second.empty()) {
      o << "<polyline fill=\"none\" stroke=\"" << stroke << "\" stroke-width=\"1.5\" points=\"";
      for (const auto& [step, loss] : curves[k].second) o << x(step) << "," << y(loss) << " ";
      o << "\"><title>" << SvgEscape(curves[k].first) << "</title></polyline>\n";
    }
    const double lx = 10 + double(k % 2) * (width / 2), ly = top + plot_h + 40 + double(k / 2) * 16;
    o << "<rect x=\"" << lx << "\" y=\"" << ly << "\" width=\"12\" height=\"12\" fill=\"" << stroke
      << "\"/>\n<text x=\"" << lx + 16 << "\" y=\"" << ly + 10 << "\">" << SvgEscape(curves[k].first) << "</text>\n";
  }
  o << "</svg>\n";
  return o.str();
}

std::string ReportMarkdown(const json& r) {
  std::ostringstream o;
  o << "# Sweep " << r.value("sweep", "") << "\n\n";
  o << "- plan: `" << r.value("plan", "") << "` (policy " << r.value("policy", "") << ")\n";
  o << "- jobs finished: " << r.value("jobs_finished", 0) << " of " << r.value("jobs", 0) << "\n";
  o << "- makespan: planned " << Cell(r["planned_makespan_seconds"]) << " s, actual "
    << Cell(r["actual_makespan_seconds"]) << " s";
  if (r["actual_makespan_seconds"].is_number() && r["planned_makespan_seconds"].get<double>() > 0)
    o << " (" << Num("%.2f", r["actual_makespan_seconds"].get<double>() / r["planned_makespan_seconds"].get<double>())
      << " x planned)";
  o << "\n- idle device-seconds: " << Cell(r.value("idle_device_seconds", json())) << "\n";
  o << "- orchestrator runs (first and resumes): " << r.value("runs", 0) << "\n\n";
  o << "| job | state | technique | devices | planned | actual | tries | final loss |\n"
       "|---|---|---|---|---|---|---|---|\n";
  for (const json& j : r["job_results"]) {
    std::string tech = j["technique"].get<std::string>() + " x" + std::to_string(j["devices"].get<int>());
    const std::string planned = j["planned_technique"].get<std::string>() + " x" +
                                std::to_string(j["planned_devices"].get<int>());
    if (planned != tech) tech += " (planned " + planned + ")";
    std::string devices = FormatPlacement(j["placement"]);
    const std::string planned_devices = FormatPlacement(j["planned_placement"]);
    if (planned_devices != devices) devices += " (planned " + planned_devices + ")";
    o << "| " << j["job"].get<std::string>() << " | " << j["state"].get<std::string>() << " | " << tech << " | "
      << devices << " | " << Cell(j["planned_start_seconds"]) << " - "
      << Cell(j["planned_end_seconds"]) << " | " << Cell(j["actual_start_seconds"]) << " - "
      << Cell(j["actual_end_seconds"]) << " | " << j["attempts"].get<int>() << " | " << Cell(j["final_loss"], "%.4f")
      << " |\n";
  }
  o << "\nTimes are seconds since the sweep first ran.\n";
  bool any_eval = false;
  for (const json& j : r["job_results"]) any_eval = any_eval || j.value("eval", json()).is_object();
  if (any_eval) {
    o << "\n## Evaluation (the latest scores of each job)\n\n| job | step | task | metrics |\n|---|---|---|---|\n";
    for (const json& j : r["job_results"]) {
      if (!j.value("eval", json()).is_object()) continue;
      for (const auto& [task, metrics] : j["eval"].items()) {
        std::string values;
        if (metrics.is_object())
          for (const auto& [k, v] : metrics.items())
            if (v.is_number()) values += (values.empty() ? "" : ", ") + k + " " + Num("%.4f", v.get<double>());
        o << "| " << j["job"].get<std::string>() << " | " << Cell(j["eval_step"], "%.0f")
          << (j.value("eval_final", false) ? " (final)" : "") << " | " << task << " | " << values << " |\n";
      }
    }
  }
  if (!r["plans_adopted"].empty()) {
    o << "\n## Re-plans adopted\n\n| # | at (s) | time left kept (s) | re-planned (s) | changed |\n|---|---|---|---|---|\n";
    for (const json& p : r["plans_adopted"]) {
      std::string changed;
      for (const json& c : p["changed"]) changed += (changed.empty() ? "" : "; ") + c.get<std::string>();
      o << "| " << p["number"].get<int>() << " | " << Cell(p["at_seconds"]) << " | " << Cell(p["kept_seconds"]) << " | "
        << Cell(p["new_seconds"]) << " | " << (changed.empty() ? "-" : changed) << " |\n";
    }
  }
  if (!r.value("excluded_devices", json::array()).empty()) {
    o << "\n## Devices taken out of use\n\n| devices | at (s) | jobs whose launches failed there |\n|---|---|---|\n";
    for (const json& x : r["excluded_devices"]) {
      std::string jobs;
      for (const json& n : x["jobs"]) jobs += (jobs.empty() ? "" : ", ") + n.get<std::string>();
      o << "| " << x["where"].get<std::string>() << " | " << Cell(x["at_seconds"]) << " | " << jobs << " |\n";
    }
  }
  std::string plan_svg = r.value("plan", "");
  if (plan_svg.size() > 5 && plan_svg.substr(plan_svg.size() - 5) == ".json") plan_svg.resize(plan_svg.size() - 5);
  o << "\n## Charts\n\n![as planned](" << plan_svg << ".svg)\n\n![as executed](executed.svg)\n\n"
       "![training loss](loss.svg)\n";
  return o.str();
}

}  // namespace saturn
