// Human views of a plan: a terminal table and a Gantt chart SVG.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <sstream>

#include "plan/objective.h"
#include "plan/plan.h"
#include "util/svg.h"

namespace saturn {
namespace {

std::string Fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string Duration(double s) {
  if (s >= 3600) return Fmt("%.2fh", s / 3600);
  if (s >= 60) return Fmt("%.1fm", s / 60);
  return Fmt("%.1fs", s);
}

std::string Escape(const std::string& s) { return SvgEscape(s); }

// Contiguous runs of a job's device ids on one node: [first, last].
std::vector<std::pair<int, int>> Runs(std::vector<int> ids) {
  std::sort(ids.begin(), ids.end());
  std::vector<std::pair<int, int>> out;
  for (size_t i = 0; i < ids.size();) {
    size_t e = i;
    while (e + 1 < ids.size() && ids[e + 1] == ids[e] + 1) ++e;
    out.emplace_back(ids[i], ids[e]);
    i = e + 1;
  }
  return out;
}

std::string DeviceList(const Plan& p, int j) {
  const Assignment& a = p.schedule.jobs[j];
  const Placement& pl = p.instance.jobs[j].configs[a.config].placements[a.placement];
  std::string out;
  for (size_t k = 0; k < pl.nodes.size(); ++k) {
    out += (k ? " " : "") + p.instance.nodes[pl.nodes[k]].name + ":";
    bool first = true;  // ranges read better than lists: 0-3,6
    for (const auto& [lo, hi] : Runs(a.device_ids[k])) {
      out += (first ? "" : ",") + std::to_string(lo) + (hi > lo ? "-" + std::to_string(hi) : "");
      first = false;
    }
  }
  return out;
}

std::vector<int> ByStart(const Plan& p) {
  std::vector<int> idx(p.schedule.jobs.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return p.schedule.jobs[a].start < p.schedule.jobs[b].start; });
  return idx;
}

}  // namespace

std::vector<std::string> PlanColors(const Plan& p) {
  std::vector<std::string> color(p.schedule.jobs.size());
  const std::vector<int> order = ByStart(p);
  for (size_t r = 0; r < order.size(); ++r) color[size_t(order[r])] = RankColor(r);
  return color;
}

std::string PlanTable(const Plan& p) {
  std::ostringstream o;
  size_t w = 3;
  for (const auto& j : p.instance.jobs) w = std::max(w, j.name.size());
  char line[512];
  std::snprintf(line, sizeof line, "%-*s  %-9s %7s  %-22s %10s %10s\n", int(w), "job", "technique", "devices", "placement", "start", "end");
  o << line;
  // A re-plan's running jobs hold their devices from its time 0.
  for (const Reservation& r : p.instance.reserved) {
    std::string where = p.instance.nodes[r.node].name + ":";
    bool first = true;
    for (const auto& [lo, hi] : Runs(r.device_ids)) {
      where += (first ? "" : ",") + std::to_string(lo) + (hi > lo ? "-" + std::to_string(hi) : "");
      first = false;
    }
    std::snprintf(line, sizeof line, "%-*s  %-9s %7d  %-22s %10s %10s\n", int(w), r.job.c_str(), r.technique.c_str(),
                  r.devices, where.c_str(), r.out_of_use ? "out of use" : "running",
                  r.out_of_use ? "-" : Duration(r.until).c_str());
    o << line;
  }
  for (int j : ByStart(p)) {
    const Assignment& a = p.schedule.jobs[j];
    const Config& c = p.instance.jobs[j].configs[a.config];
    std::snprintf(line, sizeof line, "%-*s  %-9s %7d  %-22s %10s %10s\n", int(w), p.instance.jobs[j].name.c_str(),
                  c.technique.c_str(), c.devices, (DeviceList(p, j) + KindSuffix(p.instance, c.kind)).c_str(),
                  Duration(a.start).c_str(), Duration(a.end).c_str());
    o << line;
  }
  double ms = p.makespan();
  if (p.offset_seconds > 0) o << "times from " << Fmt("%.1f", p.offset_seconds) << " s into the sweep\n";
  o << "policy " << p.policy << ": makespan " << Duration(ms) << " (" << Fmt("%.1f", ms) << " s), lower bound "
    << Duration(p.lower_bound) << ", " << Fmt("%.1f%%", p.lower_bound > 0 ? 100 * (ms / p.lower_bound - 1) : 0)
    << " above it; solver " << p.solver.status;
  if (!p.solver.method.empty()) o << " (" << p.solver.method << ")";
  o << " in " << Fmt("%.1f", p.solver.seconds) << " s\n";
  if (p.instance.objective != "makespan") {
    const double mean = p.solver.objective, bound = p.solver.best_bound;
    o << "objective " << p.instance.objective << ": " << Duration(mean) << " (" << Fmt("%.1f", mean)
      << " s, the priority-weighted mean of job ends), lower bound " << Duration(bound) << ", "
      << Fmt("%.1f%%", bound > 0 ? 100 * (mean / bound - 1) : 0) << " above it\n";
  }
  for (const std::string& miss : MissedDeadlines(p.instance, p.schedule, p.offset_seconds))
    o << "deadline missed: " << miss << "\n";
  if (const int n = p.estimated_jobs())
    o << n << " of the " << p.schedule.jobs.size()
      << " jobs run on configurations the analytic model estimated (saturn profile --estimate), not measured\n";
  return o.str();
}

std::string PlanSvg(const Plan& p) {
  // One row per device while that stays readable; past kPerDeviceRows devices, one band per
  // node, a job drawn over the share of the band its devices take: the chart's size then
  // depends on nodes and jobs, not on how many devices a node has.
  constexpr int kPerDeviceRows = 256, kLegendMax = 80;
  const double left = 150, top = 40, row_h = 18, band_h = 40, width = 1000, right = 20;
  const bool per_device = p.instance.total_devices() <= kPerDeviceRows;
  std::vector<double> band_top, band_height;
  double y_end = top;
  for (const auto& n : p.instance.nodes) {
    band_top.push_back(y_end);
    band_height.push_back(per_device ? n.devices * row_h : band_h);
    y_end += band_height.back();
  }
  const size_t J = p.schedule.jobs.size();
  const bool legend = J <= size_t(kLegendMax);
  const double legend_top = y_end + 40;
  const double height = legend_top + (legend ? double((J + 1) / 2) * 16 + 10 : 0);
  const double ms = std::max(p.makespan(), 1e-9);
  auto x = [&](double t) { return left + (width - left - right) * t / ms; };
  // Neighbours in start order get far-apart hues, so adjacent bars differ.
  const std::vector<std::string> color = PlanColors(p);
  const std::vector<int> order = ByStart(p);
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
    << "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  o << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o << "<text x=\"10\" y=\"20\" font-size=\"14\">" << Escape(p.sweep) << " - policy " << Escape(p.policy)
    << ", makespan " << Duration(p.makespan()) << ", lower bound " << Duration(p.lower_bound) << "</text>\n";
  // Time grid first, so bars do not hide its values (they sit on the axis below; on a chart
  // taller than a screen or two, above the first node too, where a reader starts).
  const bool tall = y_end - top > 1000;
  for (int i = 0; i <= 5; ++i) {
    const double t = ms * i / 5;
    o << "<line x1=\"" << x(t) << "\" x2=\"" << x(t) << "\" y1=\"" << top << "\" y2=\"" << y_end
      << "\" stroke=\"#ddd\"/>\n";
    o << "<text x=\"" << x(t) << "\" y=\"" << y_end + 15 << "\" text-anchor=\"middle\">" << Duration(t) << "</text>\n";
    if (tall) o << "<text x=\"" << x(t) << "\" y=\"" << top - 4 << "\" text-anchor=\"middle\">" << Duration(t) << "</text>\n";
  }
  for (size_t n = 0; n < p.instance.nodes.size(); ++n) {
    const auto& node = p.instance.nodes[n];
    const int rows = per_device ? node.devices : 1;
    for (int d = 0; d < rows; ++d) {
      const double h = band_height[n] / rows, y = band_top[n] + d * h;
      const std::string& kind = p.instance.kinds[size_t(node.kind)];
      const std::string name = per_device ? node.name + " / " + std::to_string(d) + (d == 0 && !kind.empty() ? " " + kind : "")
                                          : node.name + " (" + std::to_string(node.devices) + " devices" +
                                                (kind.empty() ? "" : ", " + kind) + ")";
      o << "<text x=\"10\" y=\"" << y + std::min(h, row_h) * 0.7 << "\">" << Escape(name) << "</text>\n";
      o << "<line x1=\"" << left << "\" x2=\"" << width - right << "\" y1=\"" << y + h << "\" y2=\"" << y + h
        << "\" stroke=\"#eee\"/>\n";
    }
  }
  for (size_t j = 0; j < J; ++j) {
    const Assignment& a = p.schedule.jobs[j];
    const Config& c = p.instance.jobs[j].configs[a.config];
    const Placement& pl = c.placements[a.placement];
    const std::string label = p.instance.jobs[j].name + " (" + c.technique + " x" + std::to_string(c.devices) +
                              KindSuffix(p.instance, c.kind) + ")";
    for (size_t k = 0; k < pl.nodes.size(); ++k) {
      const int node = pl.nodes[k];
      const double per = band_height[size_t(node)] / p.instance.nodes[size_t(node)].devices;
      for (const auto& [lo, hi] : Runs(a.device_ids[k])) {
        const double y = band_top[size_t(node)] + lo * per, h = (hi - lo + 1) * per;
        o << "<rect x=\"" << x(a.start) << "\" y=\"" << y + std::min(1.0, h / 4) << "\" width=\""
          << std::max(0.5, x(a.end) - x(a.start)) << "\" height=\"" << std::max(0.5, h - std::min(2.0, h / 2))
          << "\" fill=\"" << color[j] << "\" stroke=\"#333\" stroke-width=\"0.3\"><title>" << Escape(label) << ": "
          << Duration(a.start) << " - " << Duration(a.end) << "</title></rect>\n";
        const double chars = (x(a.end) - x(a.start)) / 6.2;
        if (chars >= 4 && h >= 12) {
          const std::string text = label.size() <= chars ? label : label.substr(0, size_t(chars) - 1) + "~";
          o << "<text x=\"" << x(a.start) + 2 << "\" y=\"" << y + std::min(h, row_h) * 0.7 << "\" font-size=\"10\">"
            << Escape(text) << "</text>\n";
        }
      }
    }
  }
  for (const Reservation& r : p.instance.reserved) {
    const double per = band_height[size_t(r.node)] / p.instance.nodes[size_t(r.node)].devices;
    for (const auto& [lo, hi] : Runs(r.device_ids))
      o << "<rect x=\"" << x(0) << "\" y=\"" << band_top[size_t(r.node)] + lo * per << "\" width=\""
        << std::max(0.5, x(r.out_of_use ? ms : r.until) - x(0)) << "\" height=\"" << (hi - lo + 1) * per
        << "\" fill=\"" << (r.out_of_use ? "#555" : "#bbb") << "\" stroke=\"#333\" stroke-width=\"0.3\"><title>"
        << Escape(r.job) << (r.out_of_use ? " (out of use)" : " (running): until " + Duration(r.until))
        << "</title></rect>\n";
  }
  // The legend names every job in full (bar labels are cut to fit), in start order.
  if (legend) {
    for (size_t r = 0; r < J; ++r) {
      const int j = order[r];
      const Config& c = p.instance.jobs[size_t(j)].configs[p.schedule.jobs[size_t(j)].config];
      const double lx = 10 + double(r % 2) * (width / 2), ly = legend_top + double(r / 2) * 16;
      o << "<rect x=\"" << lx << "\" y=\"" << ly << "\" width=\"12\" height=\"12\" fill=\"" << color[size_t(j)]
        << "\" stroke=\"#333\" stroke-width=\"0.3\"/>\n";
      o << "<text x=\"" << lx + 16 << "\" y=\"" << ly + 10 << "\">"
        << Escape(p.instance.jobs[size_t(j)].name + " (" + c.technique + " x" + std::to_string(c.devices) +
                  KindSuffix(p.instance, c.kind) + ")")
        << "</text>\n";
    }
  }
  o << "</svg>\n";
  return o.str();
}

}  // namespace saturn
