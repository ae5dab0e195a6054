// Data-parallel training (TrainerOptions::collective), with threads standing in for MPI's processes: N
// processes x batch B/N must end where one process x batch B ends.
#include <thread>

#include "helpers.hpp"
#include "thread_collective.hpp"

using testing::TempDir;

namespace {

struct Replica {
  std::unique_ptr<tg::Sequential<double>> net;
  std::unique_ptr<tg::Optimizer<double>> opt;
  tg::History history;
};

Replica make_replica(std::uint64_t init_seed, const std::string& optimizer, bool batch_norm = false) {
  tg::Rng rng(init_seed);
  Replica r;
  r.net = tg::make_mlp<double>({{2, 16, 16, 3}, tg::Activation::Tanh, tg::Init::xavier(), batch_norm, 0}, rng);
  tg::OptimizerOptions o;
  o.lr = 0.05;
  o.weight_decay = 1e-3;
  r.opt = tg::make_optimizer<double>(optimizer, r.net->parameters(), o);
  return r;
}

tg::TrainerOptions options(std::size_t batch) { return testing::quiet_options(3, batch, 7); }

// 249 rows: batches of 100, 100 and 49 (the last one's shares are uneven: 24 and 25 rows for two processes).
const tg::Dataset& data() {
  static const tg::Dataset d = tg::make_spiral(83, 3, 4);
  return d;
}

// Trains `processes` replicas together, replica r from initial weights of seed 100 + r (process 0's are
// broadcast), each on its thread; returns them after fit.
std::vector<Replica> train_together(std::size_t processes, std::size_t batch, const std::string& optimizer,
                                    const std::function<void(tg::TrainerOptions&, std::size_t)>& adjust = {}) {
  testing::ThreadGroup group(processes);
  std::vector<Replica> replicas;
  for (std::size_t r = 0; r < processes; ++r) replicas.push_back(make_replica(100 + r, optimizer));
  std::vector<std::exception_ptr> failures(processes);
  std::vector<std::thread> threads;
  for (std::size_t r = 0; r < processes; ++r)
    threads.emplace_back([&, r] {
      try {
        testing::ThreadCollective collective(group, r);
        tg::TrainerOptions o = options(batch);
        o.collective = &collective;
        if (adjust) adjust(o, r);
        tg::Trainer<double> trainer(*replicas[r].net, *replicas[r].opt, o);
        replicas[r].history = trainer.fit(data(), &data());
      } catch (...) {
        failures[r] = std::current_exception();
      }
    });
  for (std::thread& t : threads) t.join();
  for (const auto& f : failures)
    if (f) std::rethrow_exception(f);
  return replicas;
}

}  // namespace

TEST_CASE("data parallel: 2 processes x batch 50 and 3 x 33 end where 1 process x batch 100 and 99 end (1e-9)") {
  for (const char* optimizer : {"sgd", "momentum", "adam"}) {
    for (const auto& [processes, batch] : {std::pair<std::size_t, std::size_t>{2, 100}, {3, 99}}) {
      CAPTURE(optimizer);
      CAPTURE(processes);
      Replica alone = make_replica(100, optimizer);
      tg::Trainer<double> trainer(*alone.net, *alone.opt, options(batch));
      alone.history = trainer.fit(data(), &data());
      const std::vector<Replica> together = train_together(processes, batch, optimizer);
      for (const Replica& r : together) {
        const auto params = r.net->parameters(), expected = alone.net->parameters();
        REQUIRE(params.size() == expected.size());
        for (std::size_t i = 0; i < params.size(); ++i) CHECK(testing::max_relative_diff(params[i]->value, expected[i]->value) < 1e-9);
        // every process reports the whole batch's loss and the whole set's accuracy
        REQUIRE(r.history.loss.size() == alone.history.loss.size());
        for (std::size_t i = 0; i < r.history.loss.size(); ++i)
          CHECK(r.history.loss[i] == doctest::Approx(alone.history.loss[i]).epsilon(1e-12));
        CHECK(r.history.epochs.back().train_accuracy == alone.history.epochs.back().train_accuracy);
        CHECK(r.history.epochs.back().test_accuracy == alone.history.epochs.back().test_accuracy);
      }
      // the processes' parameters are identical, bit for bit
      for (std::size_t i = 0; i < together[0].net->parameters().size(); ++i)
        CHECK(together[1].net->parameters()[i]->value == together[0].net->parameters()[i]->value);
    }
  }
}

TEST_CASE("data parallel: the batch must divide among the processes, and BatchNorm's buffers are refused") {
  CHECK_THROWS_WITH_AS(train_together(3, 100, "sgd"),
                       doctest::Contains("the batch of 100 does not divide among 3 processes; use a multiple of 3 (e.g. 102)"),
                       tg::ValueError);
  testing::ThreadGroup group(1);
  testing::ThreadCollective one(group, 0);  // one process: no checks, plain training
  Replica r = make_replica(1, "sgd", /*batch_norm=*/true);
  tg::TrainerOptions o = options(7);
  o.collective = &one;
  CHECK_NOTHROW(tg::Trainer<double>(*r.net, *r.opt, o).fit(data()));
  testing::ThreadGroup two(2);
  std::vector<std::string> messages(2);
  std::vector<std::thread> threads;
  std::vector<Replica> replicas;
  for (std::size_t k = 0; k < 2; ++k) replicas.push_back(make_replica(1, "sgd", true));
  for (std::size_t k = 0; k < 2; ++k)
    threads.emplace_back([&, k] {
      testing::ThreadCollective c(two, k);
      tg::TrainerOptions ok = options(10);
      ok.collective = &c;
      try {
        tg::Trainer<double>(*replicas[k].net, *replicas[k].opt, ok).fit(data());
      } catch (const tg::ValueError& e) {
        messages[k] = e.what();
      }
    });
  for (std::thread& t : threads) t.join();
  for (const std::string& m : messages) CHECK(m.find("synchronised BatchNorm is not implemented") != std::string::npos);
}

TEST_CASE("data parallel: only process 0 writes the checkpoint, and a stop asked on one process stops all at once") {
  TempDir dir;
  std::vector<Replica> replicas = train_together(2, 50, "adam", [&](tg::TrainerOptions& o, std::size_t r) {
    o.checkpoint = dir.file(fmt::format("process{}.tgckpt", r));
  });
  CHECK(std::filesystem::exists(dir.file("process0.tgckpt")));
  CHECK_FALSE(std::filesystem::exists(dir.file("process1.tgckpt")));
  CHECK(tg::read_run_progress(dir.file("process0.tgckpt")).epochs_done == 3);

  // process 1 alone asks to stop after its 7th step: both stop after step 7 with Interrupted
  std::vector<std::size_t> steps(2, 0);
  CHECK_THROWS_WITH_AS(train_together(2, 50, "sgd",
                                      [&](tg::TrainerOptions& o, std::size_t r) {
                                        o.after_step = [&steps, r] { ++steps[r]; };
                                        o.should_stop = [&steps, r] { return r == 1 && steps[r] == 6; };
                                      }),
                       doctest::Contains("interrupted in epoch 2/3 at iteration 7"), tg::Interrupted);
  CHECK(steps[0] == 7);
  CHECK(steps[1] == 7);
}
