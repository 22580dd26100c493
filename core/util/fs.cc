#include "core/util/fs.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <utility>

#include "core/util/errors.h"

namespace fs = std::filesystem;

namespace trainyard::util {
namespace {

constexpr int kMaxDirectoryDepth = 64;

struct Walker {
  const std::vector<std::string>& extensions;
  Diagnostics& diagnostics;
  std::set<std::pair<dev_t, ino_t>> active;  // directories on the current path
  std::vector<fs::path> files;

  bool Wanted(const fs::path& p) const {
    if (extensions.empty()) return true;
    const std::string ext = LowerExtension(p);
    return std::find(extensions.begin(), extensions.end(), ext) != extensions.end();
  }

  void Visit(const fs::path& p, int depth) {
    struct stat st;
    if (::stat(p.c_str(), &st) != 0) {
      std::error_code ec;
      if (fs::is_symlink(fs::symlink_status(p, ec)))
        diagnostics.Warn({p.string()}, "Skipping '" + p.string() +
                                           "': it is a symbolic link that points "
                                           "nowhere (or into a link loop).");
      else
        diagnostics.Warn({p.string()}, "The path '" + p.string() + "' does not exist.");
      return;
    }
    if (S_ISREG(st.st_mode)) {
      if (Wanted(p)) files.push_back(p);
      return;
    }
    if (!S_ISDIR(st.st_mode)) return;
    const auto id = std::make_pair(st.st_dev, st.st_ino);
    if (active.count(id)) {
      diagnostics.Warn({p.string()}, "Skipping '" + p.string() +
                                         "': a symbolic link loop leads back to a "
                                         "directory already being searched.");
      return;
    }
    if (depth > kMaxDirectoryDepth) {
      diagnostics.Warn({p.string()}, "Skipping '" + p.string() + "': directories nest deeper than " +
                                         std::to_string(kMaxDirectoryDepth) + " levels.");
      return;
    }
    std::error_code ec;
    fs::directory_iterator it(p, ec);
    if (ec) {
      diagnostics.Warn({p.string()}, "Cannot read directory '" + p.string() + "': " + ec.message());
      return;
    }
    std::vector<fs::path> children;
    for (; it != fs::directory_iterator(); it.increment(ec)) {
      if (ec) break;
      children.push_back(it->path());
    }
    std::sort(children.begin(), children.end());
    active.insert(id);
    for (const fs::path& child : children) Visit(child, depth + 1);
    active.erase(id);
  }
};

}  // namespace

size_t MaxDataFileBytes() {
  if (const char* env = std::getenv("TRAINYARD_MAX_FILE_MB")) {
    char* end = nullptr;
    const double mb = std::strtod(env, &end);
    if (end != env && mb > 0) return static_cast<size_t>(mb * 1024 * 1024);
  }
  return size_t{64} * 1024 * 1024;
}

std::string LowerExtension(const fs::path& path) {
  std::string ext = path.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

std::string ReadFile(const fs::path& path, size_t max_bytes) {
  const SourceLocation where{path.string()};
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    throw NotFoundError("File '" + path.string() + "' does not exist.");
  if (S_ISDIR(st.st_mode))
    throw InvalidDataError(where, "Expected a file but '" + path.string() + "' is a directory.");
  if (static_cast<size_t>(st.st_size) > max_bytes)
    throw InvalidDataError(where, "File is too large to be training data: " +
                                      std::to_string(st.st_size / (1024 * 1024)) +
                                      " MB, the limit is " +
                                      std::to_string(max_bytes / (1024 * 1024)) +
                                      " MB (TRAINYARD_MAX_FILE_MB).");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InvalidDataError(where, "Cannot open '" + path.string() + "' for reading.");
  std::string content;
  // Read in chunks: st_size can be 0 for special files and can change under us.
  char buffer[1 << 16];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    content.append(buffer, static_cast<size_t>(in.gcount()));
    if (content.size() > max_bytes)
      throw InvalidDataError(where, "File is too large to be training data (limit " +
                                        std::to_string(max_bytes / (1024 * 1024)) +
                                        " MB, TRAINYARD_MAX_FILE_MB).");
  }
  if (in.bad()) throw InvalidDataError(where, "Error while reading '" + path.string() + "'.");
  return content;
}

void WriteFileAtomic(const fs::path& path, const std::string& content) {
  const fs::path tmp = path.string() + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    out.flush();
    if (!out) {
      std::error_code ec;
      fs::remove(tmp, ec);
      throw Error(ErrorCode::kInternal, "Cannot write '" + tmp.string() + "'.");
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw Error(ErrorCode::kInternal, "Cannot replace '" + path.string() + "': " + ec.message());
  }
}

std::vector<fs::path> ListFilesRecursive(const fs::path& root,
                                         const std::vector<std::string>& extensions,
                                         Diagnostics& diagnostics) {
  Walker walker{extensions, diagnostics, {}, {}};
  walker.Visit(root, 0);
  std::sort(walker.files.begin(), walker.files.end());
  walker.files.erase(std::unique(walker.files.begin(), walker.files.end()), walker.files.end());
  return walker.files;
}

}  // namespace trainyard::util
