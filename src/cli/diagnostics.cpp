#include "cli/diagnostics.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "cli/common.hpp"
#include "cli/output.hpp"

namespace cli {
namespace tg = tapegrad;
namespace {

const char* const kColors[] = {"1f77b4", "ff7f0e", "2ca02c", "d62728", "9467bd", "8c564b", "e377c2", "7f7f7f"};

// Up to four epochs to draw: the first, the last and two evenly between.
std::vector<std::size_t> drawn_epochs(const std::vector<tg::LayerRecord>& records) {
  std::set<std::size_t> all;
  for (const auto& r : records) all.insert(r.epoch);
  const std::vector<std::size_t> epochs(all.begin(), all.end());
  if (epochs.size() <= 4) return epochs;
  std::set<std::size_t> picked;
  for (std::size_t k = 0; k < 4; ++k) picked.insert(epochs[k * (epochs.size() - 1) / 3]);
  return {picked.begin(), picked.end()};
}

std::string multiplot_header(std::size_t panels, const std::string& title) {
  const std::size_t cols = std::min<std::size_t>(3, std::max<std::size_t>(1, panels)), rows = (panels + cols - 1) / cols;
  return fmt::format("set terminal pngcairo size {},{} font ',10'\nset output ARG1\nset key top center\n"
                     "set multiplot layout {},{} title {} noenhanced\n",
                     420 * cols, 320 * std::max<std::size_t>(1, rows) + 40, rows, cols, gnuplot_string(title));
}

// activations.png or gradients.png: a panel per layer, a step curve per drawn epoch (the share of values per bin).
std::string histogram_picture(const std::vector<tg::LayerRecord>& records, const std::vector<std::string>& layers,
                              bool gradients, const std::string& out, const std::string& title) {
  const std::string name = gradients ? "gradients" : "activations";
  const std::vector<std::size_t> epochs = drawn_epochs(records);
  std::string dat, gp = multiplot_header(layers.size(), title);
  std::size_t block = 0;
  for (const std::string& layer : layers) {
    std::string kind, plots;
    for (std::size_t k = 0; k < epochs.size(); ++k)
      for (const tg::LayerRecord& r : records) {
        const tg::Histogram& h = gradients ? r.gradients : r.activations;
        if (r.layer != layer || r.epoch != epochs[k] || h.total() == 0) continue;
        kind = r.kind;
        const double total = static_cast<double>(h.total());
        for (std::size_t b = 0; b < h.counts.size(); ++b)
          dat += fmt::format("{:.9g} {:.9g}\n", h.bin_low(b), static_cast<double>(h.counts[b]) / total);
        dat += "\n\n";
        plots += fmt::format("{}ARG2 index {} using 1:2 with steps lw 2 lc rgb '#{}' title 'epoch {}'",
                             plots.empty() ? "plot " : ", ", block++, kColors[k % 8], r.epoch);
      }
    gp += fmt::format("set title {} noenhanced\nset xlabel '{}'\nset ylabel 'share of values'\n",
                      gnuplot_string(fmt::format("layer {} ({})", layer, kind)),
                      gradients ? "d(loss)/d(output)" : "output");
    gp += plots.empty() ? "set label 1 'no values' at graph 0.5, 0.5 center\nplot NaN notitle\nunset label 1\n"
                        : plots + "\n";
  }
  gp += "unset multiplot\n";
  write_text(output_path(out, name + ".dat"), dat);
  const std::string png = output_path(out, name + ".png");
  render_png(output_path(out, name + ".gp"), gp, png, {output_path(out, name + ".dat")});
  return png;
}

// A picture of one line per series: x y blocks in `dat`, titles in `titles`.
std::string lines_picture(const std::string& name, const std::string& dat, const std::vector<std::string>& titles,
                          const std::string& setup, const std::string& extra_plot, const std::string& out) {
  std::string gp = "set terminal pngcairo size 900,560 font ',10'\nset output ARG1\nset key outside right\n" + setup;
  std::string plots;
  for (std::size_t k = 0; k < titles.size(); ++k)
    plots += fmt::format("{}ARG2 index {} using 1:2 with lines lw 2 lc rgb '#{}' dt {} title {} noenhanced",
                         plots.empty() ? "plot " : ", ", k, kColors[k % 8], 1 + k / 8, gnuplot_string(titles[k]));
  if (!extra_plot.empty()) plots += (plots.empty() ? "plot " : ", ") + extra_plot;
  gp += (plots.empty() ? "plot NaN notitle" : plots) + "\n";
  write_text(output_path(out, name + ".dat"), dat.empty() ? "0 0\n" : dat);
  const std::string png = output_path(out, name + ".png");
  render_png(output_path(out, name + ".gp"), gp, png, {output_path(out, name + ".dat")});
  return png;
}

const char* kRatioSetup =
    "set xlabel 'step'\nset ylabel 'log10(std(update) / std(value))'\n"
    "set title 'update-to-data ratio per step (the guide: about 1e-3)'\n"
    "set offsets graph 0, graph 0, graph 0.05, graph 0.05\n";
const char* kGuide = "-3 with lines dt 2 lw 2 lc rgb '#000000' title '1e-3 guide'";
const char* kUnitsSetup = "set xlabel 'epoch'\nset ylabel 'share'\nset yrange [0:1.05]\n"
                          "set title 'dead ReLU units and saturated tanh/sigmoid outputs (0: at initialisation)'\n";

bool is_weight(const std::string& parameter) {
  return parameter == "W" || (parameter.size() > 2 && parameter.compare(parameter.size() - 2, 2, ".W") == 0);
}

}  // namespace

std::vector<std::string> diagnostics_files() {
  std::vector<std::string> files{"diagnostics_histograms.csv", "diagnostics_units.csv", "diagnostics_update_ratios.csv"};
  for (const char* picture : {"activations", "gradients", "units", "update_ratios"})
    for (const char* suffix : {".dat", ".gp", ".png"}) files.push_back(std::string(picture) + suffix);
  return files;
}

template <class T>
std::vector<std::string> write_diagnostics(const tg::TrainingMonitor<T>& monitor, const std::string& out,
                                           const std::string& title) {
  std::vector<std::string> written;
  const auto csv = [&](const std::string& name, const std::string& text) {
    written.push_back(output_path(out, name));
    write_text(written.back(), text);
  };
  csv("diagnostics_histograms.csv", monitor.histograms_csv());
  csv("diagnostics_units.csv", monitor.units_csv());
  csv("diagnostics_update_ratios.csv", monitor.update_ratios_csv());
  const std::vector<std::string> layers = monitor.layers();
  const auto& records = monitor.layer_records();
  if (!layers.empty()) {
    written.push_back(histogram_picture(records, layers, false, out, title + ": activations"));
    written.push_back(histogram_picture(records, layers, true, out, title + ": gradients at the activations"));
    std::string dat;
    std::vector<std::string> titles;
    for (const std::string& layer : layers) {
      std::string kind;
      for (const auto& r : records)
        if (r.layer == layer) {
          dat += fmt::format("{} {:.9g}\n", r.epoch, r.inactive_share);
          kind = r.kind;
        }
      dat += "\n\n";
      titles.push_back(fmt::format("{} ({})", layer, kind == "ReLU" ? "ReLU, dead" : kind + ", saturated"));
    }
    written.push_back(lines_picture("units", dat, titles, kUnitsSetup, "", out));
  }
  std::map<std::string, std::string> series;  // parameter -> its "step ratio" lines
  std::vector<std::string> order;
  for (const tg::UpdateRatio& u : monitor.update_ratios()) {
    if (!series.count(u.parameter)) order.push_back(u.parameter);
    series[u.parameter] += fmt::format("{} {:.9g}\n", u.step, u.log10_ratio);
  }
  std::string dat;
  for (const std::string& p : order) dat += series[p] + "\n\n";
  written.push_back(lines_picture("update_ratios", dat, order, kRatioSetup, kGuide, out));
  return written;
}

std::vector<std::string> compare_diagnostics_files() {
  std::vector<std::string> files;
  for (const char* picture : {"compare_units", "compare_update_ratios"})
    for (const char* suffix : {".csv", ".dat", ".gp", ".png"}) files.push_back(std::string(picture) + suffix);
  return files;
}

std::vector<std::string> write_compare_diagnostics(const std::vector<RunDiagnostics>& runs, const std::string& out) {
  std::vector<std::string> written;
  std::string units_csv = "label,epoch,layer,kind,inactive_share\n", ratios_csv = "label,step,parameter,log10_ratio\n";
  std::vector<std::string> layers;  // every run's, in order: a panel each
  for (const RunDiagnostics& run : runs)
    for (const auto& r : run.layers) {
      units_csv += fmt::format("{},{},{},{},{:.9g}\n", csv_quoted(run.label), r.epoch, r.layer, r.kind, r.inactive_share);
      if (std::find(layers.begin(), layers.end(), r.layer) == layers.end()) layers.push_back(r.layer);
    }
  // compare_units.png: a panel per layer, a line per run, the key below
  std::string units_dat, gp = multiplot_header(layers.size(), "dead ReLU units, saturated tanh/sigmoid outputs");
  std::size_t block = 0;
  for (const std::string& layer : layers) {
    std::string plots, kind;
    for (std::size_t k = 0; k < runs.size(); ++k) {
      std::string rows;
      for (const auto& r : runs[k].layers)
        if (r.layer == layer) {
          rows += fmt::format("{} {:.9g}\n", r.epoch, r.inactive_share);
          kind = r.kind;
        }
      if (rows.empty()) continue;
      units_dat += rows + "\n\n";
      plots += fmt::format("{}ARG2 index {} using 1:2 with linespoints lw 2 pt 7 ps 0.5 lc rgb '#{}' dt {} title {} "
                           "noenhanced",
                           plots.empty() ? "plot " : ", ", block++, kColors[k % 8], 1 + k / 8 % 4,
                           gnuplot_string(runs[k].label));
    }
    gp += fmt::format("set title {} noenhanced\nset xlabel 'epoch (0: at initialisation)'\nset ylabel 'share'\n"
                      "set yrange [0:1.05]\nset key below\n{}\n",
                      gnuplot_string(fmt::format("layer {} ({})", layer, kind == "ReLU" ? "ReLU, dead" : kind + ", saturated")),
                      plots);
  }
  gp += "unset multiplot\n";
  written.push_back(output_path(out, "compare_units.csv"));
  write_text(written.back(), units_csv);
  if (!layers.empty()) {
    write_text(output_path(out, "compare_units.dat"), units_dat);
    written.push_back(output_path(out, "compare_units.png"));
    render_png(output_path(out, "compare_units.gp"), gp, written.back(), {output_path(out, "compare_units.dat")});
  }
  // compare_update_ratios.png: each run's mean log10 ratio over its weights, per step
  std::string ratios_dat;
  std::vector<std::string> titles;
  for (const RunDiagnostics& run : runs) {
    std::map<std::size_t, std::pair<double, std::size_t>> per_step;  // step -> sum and count over the weights
    for (const auto& u : run.ratios) {
      ratios_csv += fmt::format("{},{},{},{:.9g}\n", csv_quoted(run.label), u.step, u.parameter, u.log10_ratio);
      if (!is_weight(u.parameter)) continue;
      per_step[u.step].first += u.log10_ratio;
      ++per_step[u.step].second;
    }
    if (per_step.empty()) continue;
    for (const auto& [step, sum] : per_step)
      ratios_dat += fmt::format("{} {:.9g}\n", step, sum.first / static_cast<double>(sum.second));
    ratios_dat += "\n\n";
    titles.push_back(run.label);
  }
  written.push_back(output_path(out, "compare_update_ratios.csv"));
  write_text(written.back(), ratios_csv);
  written.push_back(lines_picture("compare_update_ratios", ratios_dat, titles,
                                  std::string(kRatioSetup) + "set title 'mean update-to-data ratio of the weights'\n"
                                                             "set key below\nset terminal pngcairo size 900,720\n",
                                  kGuide, out));
  return written;
}

template std::vector<std::string> write_diagnostics(const tg::TrainingMonitor<float>&, const std::string&,
                                                    const std::string&);
template std::vector<std::string> write_diagnostics(const tg::TrainingMonitor<double>&, const std::string&,
                                                    const std::string&);

}  // namespace cli
