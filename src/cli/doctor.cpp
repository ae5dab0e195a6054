// `tapegrad doctor`: the checks that find the usual bugs of a network (tapegrad::examine), on a network the options
// build (in double, for the gradient checks) or on a checkpoint, as a table, a CSV and an exit code.
#include <fmt/format.h>

#include "cli/common.hpp"
#include "cli/output.hpp"

namespace cli {
namespace {

const char* verdict_word(tg::Verdict v) {
  return v == tg::Verdict::Pass ? "pass" : v == tg::Verdict::Fail ? "fail" : "expected";
}

template <class T>
int examine_as(const DoctorArgs& a, const tg::NetSpec& spec, const tg::Dataset& train, const tg::Checkpoint* saved) {
  tg::Rng rng(a.run.seed);
  auto net = tg::make_network<T>(spec, rng);
  if (saved) tg::load_checkpoint(*saved, *net);
  tg::DoctorOptions options;
  options.batch = a.run.batch;
  options.optimizer = tg::OptimizerSpec::parse(a.optimizer);
  options.seed = a.run.seed;
  fmt::print("{} ({}) on {} ({} training rows){}\nthe first steps: {} on batches of {}\n\n", spec.str(),
             sizeof(T) == 8 ? "double" : "float", a.run.data, train.rows,
             saved ? ", weights from " + saved->path() : fmt::format(", initial weights of seed {}", a.run.seed),
             options.optimizer.str(), options.batch);
  const tg::DoctorReport report = tg::examine(*net, train, options);
  std::size_t failed = 0;
  std::string csv = "check,result,measured,passes when,advice\n";
  for (const tg::DoctorCheck& c : report.checks) {
    failed += c.verdict == tg::Verdict::Fail;
    csv += fmt::format("{},{},{},{},{}\n", csv_quoted(c.name), verdict_word(c.verdict), csv_quoted(c.measured),
                       csv_quoted(c.rule), csv_quoted(c.advice));
  }
  const std::string verdict =
      failed == 0 ? fmt::format("all {} checks passed\n", report.checks.size())
                  : fmt::format("{} of {} checks failed\n", failed, report.checks.size());
  fmt::print("{}\n{}", report.table(), verdict);
  write_text(output_path(a.run.out, "doctor.txt"), report.table() + "\n" + verdict);
  write_text(output_path(a.run.out, "doctor.csv"), csv);
  fmt::print("report: {}, {}\n", output_path(a.run.out, "doctor.txt"), output_path(a.run.out, "doctor.csv"));
  return failed == 0 ? 0 : 1;
}

}  // namespace

int doctor(const DoctorArgs& a) {
  tg::OptimizerSpec::parse(a.optimizer);  // its errors before any work
  tg::prepare_output_folder(a.run.out);
  for (const char* name : {"doctor.txt", "doctor.csv"}) tg::output_target(output_path(a.run.out, name));
  if (!a.model.empty()) {
    const tg::Checkpoint checkpoint(a.model);  // read once: what is checked is what is loaded
    const auto meta = parse_metadata(checkpoint);
    const tg::NetSpec spec = spec_from(meta);
    const tg::TrainTest d = load_data(a.run.data, recorded_seed(meta));
    if (spec.sample.numel() != d.train.features || spec.classes != d.train.classes)
      throw tg::ShapeError(fmt::format("doctor: the model takes {} features and gives {} classes; the data has {} and "
                                       "{}",
                                       spec.sample.numel(), spec.classes, d.train.features, d.train.classes));
    return meta.at("dtype") == "double" ? examine_as<double>(a, spec, d.train, &checkpoint)
                                        : examine_as<float>(a, spec, d.train, &checkpoint);
  }
  a.run.check_net();
  const tg::TrainTest d = a.run.load();
  return examine_as<double>(a, a.run.net(d.train.sample_shape(), d.train.classes), d.train, nullptr);
}

}  // namespace cli
