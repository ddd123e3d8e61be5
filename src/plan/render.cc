// Human views of a plan: a terminal table and a Gantt chart SVG.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <sstream>

#include "plan/plan.h"

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

std::string Escape(const std::string& s) {
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

std::string DeviceList(const Plan& p, int j) {
  const Assignment& a = p.schedule.jobs[j];
  const Placement& pl = p.instance.jobs[j].configs[a.config].placements[a.placement];
  std::string out;
  for (size_t k = 0; k < pl.nodes.size(); ++k) {
    std::vector<int> ids = a.device_ids[k];
    std::sort(ids.begin(), ids.end());
    out += (k ? " " : "") + p.instance.nodes[pl.nodes[k]].name + ":";
    // Ranges read better than lists: 0-3,6.
    for (size_t i = 0; i < ids.size();) {
      size_t e = i;
      while (e + 1 < ids.size() && ids[e + 1] == ids[e] + 1) ++e;
      out += (i ? "," : "") + std::to_string(ids[i]) + (e > i ? "-" + std::to_string(ids[e]) : "");
      i = e + 1;
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

std::string PlanTable(const Plan& p) {
  std::ostringstream o;
  size_t w = 3;
  for (const auto& j : p.instance.jobs) w = std::max(w, j.name.size());
  char line[512];
  std::snprintf(line, sizeof line, "%-*s  %-9s %7s  %-22s %10s %10s\n", int(w), "job", "technique", "devices", "placement", "start", "end");
  o << line;
  for (int j : ByStart(p)) {
    const Assignment& a = p.schedule.jobs[j];
    const Config& c = p.instance.jobs[j].configs[a.config];
    std::snprintf(line, sizeof line, "%-*s  %-9s %7d  %-22s %10s %10s\n", int(w), p.instance.jobs[j].name.c_str(),
                  c.technique.c_str(), c.devices, DeviceList(p, j).c_str(), Duration(a.start).c_str(), Duration(a.end).c_str());
    o << line;
  }
  double ms = p.makespan();
  o << "policy " << p.policy << ": makespan " << Duration(ms) << " (" << Fmt("%.1f", ms) << " s), lower bound "
    << Duration(p.lower_bound) << ", " << Fmt("%.1f%%", p.lower_bound > 0 ? 100 * (ms / p.lower_bound - 1) : 0)
    << " above it; solver " << p.solver.status;
  if (!p.solver.method.empty()) o << " (" << p.solver.method << ")";
  o << " in " << Fmt("%.1f", p.solver.seconds) << " s\n";
  return o.str();
}

std::string PlanSvg(const Plan& p) {
  // One row per device, grouped by node; time on the x axis.
  const double left = 150, top = 40, row_h = 18, width = 1000, right = 20;
  int rows = 0;
  std::vector<int> first_row;
  for (const auto& n : p.instance.nodes) first_row.push_back(rows), rows += n.devices;
  const double ms = std::max(p.makespan(), 1e-9);
  const double height = top + rows * row_h + 40;
  auto x = [&](double t) { return left + (width - left - right) * t / ms; };
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
    << "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  o << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o << "<text x=\"10\" y=\"20\" font-size=\"14\">" << Escape(p.sweep) << " - policy " << Escape(p.policy)
    << ", makespan " << Duration(p.makespan()) << ", lower bound " << Duration(p.lower_bound) << "</text>\n";
  for (size_t n = 0; n < p.instance.nodes.size(); ++n)
    for (int d = 0; d < p.instance.nodes[n].devices; ++d) {
      double y = top + (first_row[n] + d) * row_h;
      o << "<text x=\"10\" y=\"" << y + row_h * 0.7 << "\">" << Escape(p.instance.nodes[n].name) << " / " << d << "</text>\n";
      o << "<line x1=\"" << left << "\" x2=\"" << width - right << "\" y1=\"" << y + row_h << "\" y2=\"" << y + row_h
        << "\" stroke=\"#eee\"/>\n";
    }
  const size_t J = p.schedule.jobs.size();
  for (size_t j = 0; j < J; ++j) {
    const Assignment& a = p.schedule.jobs[j];
    const Config& c = p.instance.jobs[j].configs[a.config];
    const Placement& pl = c.placements[a.placement];
    // Golden-angle hues keep neighbouring jobs apart.
    std::string color = "hsl(" + std::to_string(int(std::fmod(j * 137.508, 360.0))) + ",65%,60%)";
    std::string label = p.instance.jobs[j].name + " (" + c.technique + " x" + std::to_string(c.devices) + ")";
    for (size_t k = 0; k < pl.nodes.size(); ++k)
      for (int d : a.device_ids[k]) {
        double y = top + (first_row[pl.nodes[k]] + d) * row_h;
        o << "<rect x=\"" << x(a.start) << "\" y=\"" << y + 1 << "\" width=\"" << std::max(0.5, x(a.end) - x(a.start))
          << "\" height=\"" << row_h - 2 << "\" fill=\"" << color << "\" stroke=\"#333\" stroke-width=\"0.3\"><title>"
          << Escape(label) << ": " << Duration(a.start) << " - " << Duration(a.end) << "</title></rect>\n";
        double chars = (x(a.end) - x(a.start)) / 6.2;
        if (chars >= 4) {
          std::string text = label.size() <= chars ? label : label.substr(0, size_t(chars) - 1) + "~";
          o << "<text x=\"" << x(a.start) + 2 << "\" y=\"" << y + row_h * 0.7 << "\" font-size=\"10\">" << Escape(text)
            << "</text>\n";
        }
      }
  }
  double axis_y = top + rows * row_h + 15;
  for (int i = 0; i <= 5; ++i) {
    double t = ms * i / 5;
    o << "<text x=\"" << x(t) << "\" y=\"" << axis_y << "\" text-anchor=\"middle\">" << Duration(t) << "</text>\n";
  }
  o << "</svg>\n";
  return o.str();
}

}  // namespace saturn
