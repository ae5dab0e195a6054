#pragma once
// Writing files so that nothing is lost and no failure goes unnoticed.
#include <string>
#include <string_view>

namespace tapegrad {

/// Writes `bytes` to `path` atomically: a temporary file with a unique name beside it (two writers to one
/// path never share a temporary), written, flushed to disk and closed, each step checked, then renamed over
/// `path`. On any failure (read-only or missing folder, full disk, file-size limit) a DataError naming the file
/// and the reason; the temporary is removed and `path` keeps its old contents.
void write_file_atomically(const std::string& path, std::string_view bytes);

/// Creates `folder` and its parents if needed and checks that a file can be created in it, so that a long
/// run does not discover at its end that it cannot write its results. DataError naming the folder otherwise.
void prepare_output_folder(const std::string& folder);

/// A unique, not yet existing name beside `path` for a temporary file ("<path>.tmp-XXXXXX"); the file is
/// created empty (so no other process takes the name). DataError naming the folder when it cannot be.
std::string make_temporary_beside(const std::string& path);

}  // namespace tapegrad
