// `tapegrad experiment half-precision`: the book's half_float_network.py. A network trained in float32 (a
// checkpoint of `tapegrad train`) is evaluated again with its weights, and then also its inputs and every layer's
// outputs, rounded to float16 and to bfloat16.
#include <fmt/format.h>

#include "cli/common.hpp"
#include "cli/experiments.hpp"
#include "cli/output.hpp"
#include "tapegrad/train/checkpoint.hpp"
#include "tapegrad/train/evaluate.hpp"

namespace cli {
namespace {

struct RoundedRow {
  tg::Precision precision;
  bool activations;
  std::string what;
};

template <class T>
int half_precision_as(const tg::Checkpoint& checkpoint, const tg::NetSpec& spec, const tg::Dataset& test,
                      const std::string& out) {
  if (spec.sample.numel() != test.features || spec.classes != test.classes)
    throw tg::ShapeError(fmt::format("experiment half-precision: the model takes {} features and gives {} classes; "
                                     "the data has {} and {}",
                                     spec.sample.numel(), spec.classes, test.features, test.classes));
  tg::Rng rng(0);
  auto net = tg::make_network<T>(spec, rng);
  tg::load_checkpoint(checkpoint, *net);
  const std::vector<std::size_t> reference = tg::predict(*net, test);
  const auto accuracy_of = [&](const std::vector<std::size_t>& predicted) {
    std::size_t correct = 0;
    for (std::size_t i = 0; i < test.rows; ++i) correct += predicted[i] == test.labels[i];
    return 100.0 * double(correct) / double(test.rows);
  };
  const double base = accuracy_of(reference);
  const std::vector<RoundedRow> settings{
      {tg::Precision::Float16, false, "weights"},
      {tg::Precision::Float16, true, "weights, inputs and every layer's outputs"},
      {tg::Precision::BFloat16, false, "weights"},
      {tg::Precision::BFloat16, true, "weights, inputs and every layer's outputs"},
  };
  std::vector<std::vector<std::string>> rows{
      {"float32 (as trained)", "-", fmt::format("{:.2f}%", base), "-", "-", "-"}};
  std::string csv = "precision,rounded,test accuracy,change (points),predictions changed,overflowed\n";
  csv += fmt::format("float32,none,{:.4f},0,0,0\n", base);
  for (const RoundedRow& s : settings) {
    const tg::RoundedPrediction r = tg::predict_rounded(*net, test, s.precision, s.activations);
    std::size_t changed = 0;
    for (std::size_t i = 0; i < test.rows; ++i) changed += r.predicted[i] != reference[i];
    const double accuracy = accuracy_of(r.predicted);
    const std::size_t overflowed = r.overflowed_parameters + r.overflowed_values;
    rows.push_back({tg::to_string(s.precision), s.what, fmt::format("{:.2f}%", accuracy),
                    fmt::format("{:+.2f}", accuracy - base), std::to_string(changed), std::to_string(overflowed)});
    csv += fmt::format("{},{},{:.4f},{:.4f},{},{}\n", tg::to_string(s.precision), csv_quoted(s.what), accuracy,
                       accuracy - base, changed, overflowed);
  }
  const std::string text =
      fmt::format("{} ({}) on {} test images\n\n", checkpoint.path(), spec.str(), test.rows) +
      table({"precision", "rounded", "test accuracy", "change (points)", "predictions changed", "overflowed to inf"},
            rows);
  fmt::print("{}", text);
  write_text(output_path(out, "half_precision.txt"), text);
  write_text(output_path(out, "half_precision.csv"), csv);
  fmt::print("\ntable: {}\nrows:  {}\n", output_path(out, "half_precision.txt"),
             output_path(out, "half_precision.csv"));
  return 0;
}

}  // namespace

int half_precision_experiment(const RunOptions& run, const ExperimentOptions& options) {
  if (options.model.empty())
    throw tg::ValueError("experiment half-precision: give the trained network with --model CKPT; `tapegrad train "
                         "--save CKPT` writes one, e.g. tapegrad train --net simple_conv --opt adam:lr=0.001 "
                         "--save model.tgckpt");
  const tg::Checkpoint checkpoint(options.model);  // read once: what is checked is what is loaded
  const auto meta = parse_metadata(checkpoint);
  const tg::NetSpec spec = spec_from(meta);
  tg::prepare_output_folder(run.out);
  const tg::TrainTest data = load_data(run.data, recorded_seed(meta));  // a split set: the run's own test part
  return meta.at("dtype") == "double" ? half_precision_as<double>(checkpoint, spec, data.test, run.out)
                                        : half_precision_as<float>(checkpoint, spec, data.test, run.out);
}

}  // namespace cli
