#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "core/util/diagnostics.h"

namespace trainyard::util {

// The largest data file trainyard reads, in bytes. Larger files are refused
// with an error naming them (no real training file comes near; a hostile one
// must not exhaust memory). Override with TRAINYARD_MAX_FILE_MB.
size_t MaxDataFileBytes();

// Reads a whole file. Throws NotFoundError when it does not exist and
// InvalidDataError when it is a directory, unreadable or larger than max_bytes.
std::string ReadFile(const std::filesystem::path& path,
                     size_t max_bytes = MaxDataFileBytes());

// Writes `content` to `path` atomically: a temp file beside it, then rename.
void WriteFileAtomic(const std::filesystem::path& path, const std::string& content);

// Every regular file below `root` (or `root` itself if it is a file) whose
// extension is one of `extensions` (lower-case, with dot; empty = all), sorted
// and de-duplicated. Symlinks are followed; a symlink loop, a dangling link or
// an unreadable directory is reported as a warning and skipped, never followed
// forever. A missing root is a warning too.
std::vector<std::filesystem::path> ListFilesRecursive(
    const std::filesystem::path& root, const std::vector<std::string>& extensions,
    Diagnostics& diagnostics);

// The lower-cased extension of `path`, with its dot (".yml").
std::string LowerExtension(const std::filesystem::path& path);

}  // namespace trainyard::util
