#pragma once
// `train --diagnose` and `compare --diagnose`: a TrainingMonitor's records as CSVs and gnuplot pictures.
#include <string>
#include <vector>

#include "tapegrad/tapegrad.hpp"

namespace cli {

/// OUT/diagnostics_histograms.csv, diagnostics_units.csv, diagnostics_update_ratios.csv, and activations.png,
/// gradients.png (a panel per activation layer, a curve per drawn epoch: the first, the last and two between),
/// units.png and update_ratios.png (log10, with the 1e-3 guide). Returns the paths written.
template <class T>
std::vector<std::string> write_diagnostics(const tapegrad::TrainingMonitor<T>& monitor, const std::string& out,
                                           const std::string& title);

/// The files write_diagnostics may write (before any work, each is checked with tapegrad::output_target).
std::vector<std::string> diagnostics_files();

/// compare --diagnose: one run's records, as compare gathers them from its processes.
struct RunDiagnostics {
  std::string label;
  std::vector<tapegrad::LayerRecord> layers;  // histograms left out
  std::vector<tapegrad::UpdateRatio> ratios;
};
/// OUT/compare_units.csv and .png (each run's dead or saturated share per layer and epoch) and
/// compare_update_ratios.csv and .png (each run's mean log10 ratio over its weights, per step). Returns the paths.
std::vector<std::string> write_compare_diagnostics(const std::vector<RunDiagnostics>& runs, const std::string& out);
/// The files it may write.
std::vector<std::string> compare_diagnostics_files();

}  // namespace cli
