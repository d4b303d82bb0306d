// svg_chart.hpp — the example's accuracy-and-loss chart, written as SVG by hand: two panels
// (training loss, test accuracy) against epochs, one polyline per run.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

struct series {
  std::string name;
  std::vector<double> x, y;
};

namespace svg_detail {
inline std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f", v);
  return b;
}
/// Text escaped for XML.
inline std::string esc(const std::string& t) {
  std::string o;
  for (char c : t) {
    if (c == '<')
      o += "&lt;";
    else if (c == '>')
      o += "&gt;";
    else if (c == '&')
      o += "&amp;";
    else
      o += c;
  }
  return o;
}
/// A "nice" tick step for a range.
inline double tick_step(double range, int target) {
  const double raw = range / target, p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * p >= raw) return m * p;
  return 10 * p;
}
}  // namespace svg_detail

/// Draws one panel at (x0, y0) of size w × h into `out`.
/// A dashed vertical line at `marker` (if ≥ 0) labelled `marker_label`.
inline void svg_panel(std::string& out, double x0, double y0, double w, double h,
                      const std::string& title, const std::string& ylabel,
                      const std::vector<series>& data, const char* const* colors, double marker,
                      const std::string& marker_label) {
  using svg_detail::num;
  double xmin = 0, xmax = 1, ymin = 1e300, ymax = -1e300;
  for (const auto& s : data)
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      xmax = std::max(xmax, s.x[i]);
      ymin = std::min(ymin, s.y[i]);
      ymax = std::max(ymax, s.y[i]);
    }
  if (ymin > ymax) ymin = 0, ymax = 1;
  const double pad = (ymax - ymin) * 0.08 + 1e-9;
  ymin -= pad, ymax += pad;
  const double ys = svg_detail::tick_step(ymax - ymin, 5);
  ymin = std::floor(ymin / ys) * ys, ymax = std::ceil(ymax / ys) * ys;
  const double L = x0 + 72, R = x0 + w - 15, T = y0 + 35, B = y0 + h - 45;
  auto px = [&](double v) { return L + (v - xmin) / (xmax - xmin) * (R - L); };
  auto py = [&](double v) { return B - (v - ymin) / (ymax - ymin) * (B - T); };
  out += "<text x='" + num((L + R) / 2) + "' y='" + num(y0 + 20) +
         "' text-anchor='middle' font-size='15' font-weight='bold'>" + svg_detail::esc(title) +
         "</text>\n";
  for (double v = ymin; v <= ymax + ys * 0.01; v += ys) {
    out += "<line x1='" + num(L) + "' x2='" + num(R) + "' y1='" + num(py(v)) + "' y2='" +
           num(py(v)) + "' stroke='#ddd'/>\n";
    out += "<text x='" + num(L - 6) + "' y='" + num(py(v) + 4) +
           "' text-anchor='end' font-size='11'>" + (ys < 0.01 ? num(v * 100) + "%" : num(v)) +
           "</text>\n";
  }
  const double xs = svg_detail::tick_step(xmax - xmin, 6);
  for (double v = 0; v <= xmax + 1e-9; v += xs) {
    out += "<line x1='" + num(px(v)) + "' x2='" + num(px(v)) + "' y1='" + num(T) + "' y2='" +
           num(B) + "' stroke='#eee'/>\n";
    out += "<text x='" + num(px(v)) + "' y='" + num(B + 16) +
           "' text-anchor='middle' font-size='11'>" + num(v) + "</text>\n";
  }
  out += "<rect x='" + num(L) + "' y='" + num(T) + "' width='" + num(R - L) + "' height='" +
         num(B - T) + "' fill='none' stroke='#333'/>\n";
  out += "<text x='" + num((L + R) / 2) + "' y='" + num(B + 34) +
         "' text-anchor='middle' font-size='12'>epoch</text>\n";
  out += "<text transform='translate(" + num(x0 + 14) + "," + num((T + B) / 2) +
         ") rotate(-90)' text-anchor='middle' font-size='12'>" + svg_detail::esc(ylabel) +
         "</text>\n";
  if (marker >= 0 && marker <= xmax) {
    out += "<line x1='" + num(px(marker)) + "' x2='" + num(px(marker)) + "' y1='" + num(T) +
           "' y2='" + num(B) + "' stroke='#888' stroke-dasharray='5,4'/>\n";
    out += "<text x='" + num(px(marker) + 4) + "' y='" + num(T + 14) +
           "' font-size='11' fill='#555'>" + svg_detail::esc(marker_label) + "</text>\n";
  }
  for (std::size_t k = 0; k < data.size(); ++k) {
    std::string pts;
    for (std::size_t i = 0; i < data[k].x.size(); ++i)
      pts += num(px(data[k].x[i])) + "," + num(py(data[k].y[i])) + " ";
    out += "<polyline fill='none' stroke-width='2' stroke='" + std::string(colors[k % 6]) +
           "' points='" + pts + "'/>\n";
    if (data[k].x.size() <= 40)
      for (std::size_t i = 0; i < data[k].x.size(); ++i)
        out += "<circle r='3' fill='" + std::string(colors[k % 6]) + "' cx='" +
               num(px(data[k].x[i])) + "' cy='" + num(py(data[k].y[i])) + "'/>\n";
  }
}

/// Writes the two-panel chart; returns false if the file cannot be written.
inline bool write_chart(const std::string& path, const std::string& title,
                        const std::vector<series>& loss, const std::vector<series>& accuracy,
                        double marker = -1, const std::string& marker_label = "") {
  static const char* const colors[6] = {"#1f77b4", "#d62728", "#2ca02c",
                                        "#ff7f0e", "#9467bd", "#8c564b"};
  const double W = 960, H = 420;
  std::string s = "<svg xmlns='http://www.w3.org/2000/svg' width='" + svg_detail::num(W) +
                  "' height='" + svg_detail::num(H) +
                  "' font-family='sans-serif'>\n<rect width='100%' height='100%' fill='white'/>\n";
  s += "<text x='" + svg_detail::num(W / 2) + "' y='22' text-anchor='middle' font-size='17'>" +
       svg_detail::esc(title) + "</text>\n";
  svg_panel(s, 0, 30, W / 2, H - 60, "training loss (running mean)", "cross-entropy", loss, colors,
            marker, marker_label);
  svg_panel(s, W / 2, 30, W / 2, H - 60, "test accuracy", "accuracy", accuracy, colors, marker,
            marker_label);
  for (std::size_t k = 0; k < loss.size(); ++k) {
    const double x = 80 + 200 * static_cast<double>(k);
    s += "<line x1='" + svg_detail::num(x) + "' x2='" + svg_detail::num(x + 24) + "' y1='" +
         svg_detail::num(H - 14) + "' y2='" + svg_detail::num(H - 14) +
         "' stroke-width='3' stroke='" + colors[k % 6] + "'/>\n<text x='" +
         svg_detail::num(x + 30) + "' y='" + svg_detail::num(H - 10) + "' font-size='13'>" +
         svg_detail::esc(loss[k].name) + "</text>\n";
  }
  s += "</svg>\n";
  std::ofstream f(path);
  f << s;
  return static_cast<bool>(f);
}
