#pragma once
// Writing files so that nothing is lost and no failure goes unnoticed.
#include <string>
#include <string_view>

namespace tapegrad {

/// The regular file a write to `path` replaces (or creates): `path` itself, or, for a symbolic link, the file at
/// the end of its chain, so that the link stays a link and its target is what changes (as editors and cp do).
/// DataError naming it when it is a folder, a device node, a FIFO or a socket (`/dev/null` included: nothing is
/// written over it), a link loop, or cannot be inspected.
std::string output_target(const std::string& path);

/// Writes `bytes` to `path` atomically: a temporary file with a unique name beside output_target(path) (two
/// writers to one path never share a temporary), written, flushed to disk and closed, each step checked, then
/// renamed over that target. A new file gets mode 0666 less the umask, a replaced one keeps its mode. On any
/// failure (not a regular file, read-only or missing folder, full disk, file-size limit) a DataError naming the
/// file and the reason; the temporary is removed and the file keeps its old contents.
void write_file_atomically(const std::string& path, std::string_view bytes);

/// Creates `folder` and its parents if needed and checks that a file can be created in it, so that a long
/// run does not discover at its end that it cannot write its results. DataError naming the folder otherwise.
void prepare_output_folder(const std::string& folder);

/// A unique, not yet existing name beside `path` for a temporary file ("<path>.tmp-XXXXXX"); the file is
/// created empty with mode 0666 less the umask (so no other process takes the name). DataError naming the folder when it cannot be.
std::string make_temporary_beside(const std::string& path);

}  // namespace tapegrad
