// `tapegrad gradcheck`: every built-in op and layer (or those named) checked in double, first derivatives or
// (--order 2) second ones; the exit code says whether all passed.
#include <fmt/format.h>

#include "cli/common.hpp"
#include "support/catalog.hpp"

namespace cli {

int gradcheck(const std::vector<std::string>& names, const std::string& net, bool fast, int order, std::uint64_t seed,
              bool verbose) {
  const auto& catalog = tg::support::gradcheck_catalog();
  std::vector<const tg::support::CatalogCheck*> chosen;
  tg::support::CatalogCheck network;
  if (!net.empty()) {
    tg::NetSpec spec;
    spec.layers = net;
    spec.sample = spec.is_mlp() ? tg::Shape{784} : tg::Shape{1, 28, 28};
    spec.footprint();  // the spec's errors now, before any check runs
    network = {"--net " + net, "network", [spec](tg::Rng& rng, const tg::GradcheckOptions& o) {
                 auto model = tg::make_network<double>(spec, rng);
                 return tg::gradcheck_module(*model, tg::support::kink_free({2, 784}, rng), o);
               }};
  }
  for (const std::string& name : names) {
    const auto it = std::find_if(catalog.begin(), catalog.end(), [&](const auto& c) { return c.name == name; });
    if (it == catalog.end()) {
      std::vector<std::string> known;
      for (const auto& c : catalog) known.push_back(c.name);
      throw tg::ValueError(fmt::format("gradcheck: no check named '{}'; known: {}", name, fmt::join(known, ", ")));
    }
    chosen.push_back(&*it);
  }
  if (names.empty() && net.empty())
    for (const auto& c : catalog) chosen.push_back(&c);
  if (!net.empty()) chosen.push_back(&network);

  tg::GradcheckOptions options;
  options.fast = fast;
  options.seed = seed;
  options.order = order;
  std::vector<std::vector<std::string>> rows;
  std::size_t failed = 0;
  for (const tg::support::CatalogCheck* check : chosen) {
    tg::Rng rng(seed);
    const tg::GradcheckReport report = check->run(rng, options);
    double mean = 0, max_abs = 0, max_rel = 0;
    std::size_t elements = 0;
    for (const auto& e : report.entries) {
      mean = std::max(mean, e.mean_abs_error);
      max_abs = std::max(max_abs, e.max_abs_error);
      max_rel = std::max(max_rel, e.max_rel_error);
      elements += e.checked;
    }
    const bool ok = report.passed();
    failed += !ok;
    rows.push_back({check->name, check->family, std::to_string(report.entries.size()), std::to_string(elements),
                    fmt::format("{:.1e}", mean), fmt::format("{:.1e}", max_abs), fmt::format("{:.1e}", max_rel),
                    ok ? "pass" : "FAIL"});
    if (verbose || !ok) fmt::print("== {}\n{}\n", check->name, report.table());
  }
  fmt::print("{}", table({"check", "family", "tensors", fast ? "directions" : "elements", "mean|a-n|", "max|a-n|",
                          "max rel", "result"},
                         rows));
  fmt::print("{} of {} {} passed ({} mode, double, seed {})\n", chosen.size() - failed, chosen.size(),
             order == 3   ? "third-derivative checks"
             : order == 2 ? "second-derivative checks (gradgradcheck)"
                          : "checks", fast ? "fast" : "full", seed);
  return failed == 0 ? 0 : 1;
}

}  // namespace cli
