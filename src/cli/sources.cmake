# The program's sources but main.cpp, listed once: the program (src/cli/CMakeLists.txt) and the command-line
# fuzzer (tests/fuzz/CMakeLists.txt) both build from this list, so a new source cannot leave one of them unlinked.
set(TAPEGRAD_CLI_SOURCES app.cpp common.cpp compare.cpp function.cpp train.cpp gradcheck.cpp graph.cpp pictures.cpp
    parallel.cpp processes.cpp progress.cpp grid.cpp experiment.cpp experiments.cpp sequence_experiments.cpp
    precision_experiment.cpp search_report.cpp exit_codes.cpp lr_find.cpp landscape.cpp boundary.cpp
    diagnostics.cpp doctor.cpp)
list(TRANSFORM TAPEGRAD_CLI_SOURCES PREPEND ${CMAKE_CURRENT_LIST_DIR}/)
