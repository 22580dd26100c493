#include "core/storage/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <unistd.h>

#include <ctime>
#include <fstream>
#include <random>

#include "core/util/errors.h"
#include "core/util/strings.h"

namespace fs = std::filesystem;

namespace trainyard::storage {
namespace {

constexpr const char* kMetadataFile = "metadata.json";
constexpr const char* kComponentsDir = "components";
constexpr const char* kMinCompatibleVersion = "0.1.0";

[[noreturn]] void Refuse(const fs::path& archive, const std::string& why, const char* what = "model archive") {
  throw util::InvalidDataError({archive.string()}, std::string("Cannot load the ") + what + " '" + archive.string() +
                                                       "': " + why);
}

struct WriteHandle {
  archive* a = archive_write_new();
  ~WriteHandle() { archive_write_free(a); }
};
struct ReadHandle {
  archive* a = archive_read_new();
  ~ReadHandle() { archive_read_free(a); }
};

void Check(archive* a, int rc, const std::string& what) {
  if (rc < ARCHIVE_WARN) {
    const char* e = archive_error_string(a);
    throw util::Error(util::ErrorCode::kInternal, what + ": " + (e ? e : "unknown libarchive error"));
  }
}

void AddEntry(archive* a, const std::string& name, const std::string& data, bool directory) {
  archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, name.c_str());
  archive_entry_set_filetype(e, directory ? AE_IFDIR : AE_IFREG);
  archive_entry_set_perm(e, directory ? 0755 : 0644);
  archive_entry_set_size(e, directory ? 0 : static_cast<la_int64_t>(data.size()));
  archive_entry_set_mtime(e, std::time(nullptr), 0);
  const int rc = archive_write_header(a, e);
  archive_entry_free(e);
  Check(a, rc, "Cannot add '" + name + "' to the model archive");
  if (!directory && !data.empty() &&
      archive_write_data(a, data.data(), data.size()) != static_cast<la_ssize_t>(data.size()))
    Check(a, ARCHIVE_FATAL, "Cannot write '" + name + "' to the model archive");
}

std::string ReadWhole(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// An archive member name is safe when it stays inside the target directory.
bool SafeName(const std::string& name) {
  if (name.empty() || name[0] == '/') return false;
  for (const std::string& part : util::Split(name, '/'))
    if (part == "..") return false;
  return true;
}

std::string Normalize(std::string name) {
  while (util::StartsWith(name, "./")) name = name.substr(2);
  while (!name.empty() && name.back() == '/') name.pop_back();
  return name;
}

template <typename Fn>
void ForEachEntry(const fs::path& path, Fn&& fn, const char* what = "model archive") {
  ReadHandle r;
  archive_read_support_filter_gzip(r.a);
  archive_read_support_format_tar(r.a);
  if (archive_read_open_filename(r.a, path.c_str(), 1 << 16) != ARCHIVE_OK) {
    std::error_code ec;
    if (!fs::exists(path, ec)) throw util::NotFoundError("Model archive '" + path.string() + "' does not exist.");
    Refuse(path, std::string("it is not a gzip-compressed tar file (") + archive_error_string(r.a) + ").", what);
  }
  archive_entry* entry = nullptr;
  while (true) {
    const int rc = archive_read_next_header(r.a, &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN)
      Refuse(path, std::string("it is corrupt or truncated (") + archive_error_string(r.a) + ").", what);
    fn(r.a, entry);
  }
}

std::string ReadData(archive* a, const fs::path& path, const char* what = "model archive") {
  std::string out;
  char buffer[1 << 16];
  while (true) {
    const la_ssize_t n = archive_read_data(a, buffer, sizeof buffer);
    if (n < 0) Refuse(path, std::string("it is corrupt or truncated (") + archive_error_string(a) + ").", what);
    if (n == 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

ModelMetadata ParseMetadata(const std::string& text, const fs::path& path) {
  Json json = Json::parse(text, nullptr, false);
  if (!json.is_object()) Refuse(path, "its metadata.json is not a JSON object.");
  if (!json.contains("trainyard_version")) {
    const std::string rasa = json.value("rasa_open_source_version", std::string());
    Refuse(path, rasa.empty() ? "it was not produced by trainyard (metadata.json has no 'trainyard_version')."
                              : "it was produced by Rasa " + rasa +
                                    ", not by trainyard; train the project with trainyard to get a model it can load.");
  }
  ModelMetadata m = ModelMetadata::FromJson(json);
  if (util::CompareVersions(m.producer_version, kMinCompatibleVersion) < 0)
    Refuse(path, "it was produced by trainyard " + m.producer_version + "; the oldest version this trainyard loads is " +
                     kMinCompatibleVersion + ". Retrain the model.");
  return m;
}

}  // namespace

std::string NewModelId() {
  thread_local std::mt19937_64 rng{std::random_device{}() ^ (static_cast<uint64_t>(::getpid()) << 32)};
  static const char* kHex = "0123456789abcdef";
  std::string id(32, '0');
  for (char& c : id) c = kHex[rng() & 0xF];
  id[12] = '4';                        // UUID version 4
  id[16] = kHex[8 + (rng() & 0x3)];    // variant 10xx
  return id;
}

std::string UtcTimestamp() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &utc);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() % 1000000;
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%06lld", static_cast<long long>(micros));
  return std::string(buffer) + frac;
}

Json ModelMetadata::ToJson() const {
  auto opt = [](const std::optional<std::string>& v) { return v ? Json(*v) : Json(); };
  return {{"domain", domain},
          {"trained_at", trained_at},
          {"model_id", model_id},
          {"assistant_id", opt(assistant_id)},
          {"trainyard_version", producer_version},
          {"rasa_open_source_version", producer_version},
          {"train_schema", train_schema},
          {"predict_schema", predict_schema},
          {"training_type", training_type},
          {"project_fingerprint", opt(project_fingerprint)},
          {"core_target", opt(core_target)},
          {"nlu_target", nlu_target},
          {"language", opt(language)},
          {"device", device},
          {"node_durations", node_durations},
          {"cache_hits", cache_hits}};
}

ModelMetadata ModelMetadata::FromJson(const Json& json) {
  ModelMetadata m;
  auto text = [&](const char* key) -> std::string {
    if (!json.contains(key) || !json[key].is_string())
      throw util::InvalidDataError({}, std::string("metadata.json: '") + key + "' is missing or not a string.");
    return json[key].get<std::string>();
  };
  auto opt = [&](const char* key) -> std::optional<std::string> {
    if (json.contains(key) && json[key].is_string()) return json[key].get<std::string>();
    return std::nullopt;
  };
  m.trained_at = text("trained_at");
  m.model_id = text("model_id");
  m.producer_version = text("trainyard_version");
  m.nlu_target = text("nlu_target");
  m.assistant_id = opt("assistant_id");
  m.project_fingerprint = opt("project_fingerprint");
  m.core_target = opt("core_target");
  m.language = opt("language");
  m.device = json.value("device", std::string("cpu"));
  if (!json.contains("training_type") || !json["training_type"].is_number_integer())
    throw util::InvalidDataError({}, "metadata.json: 'training_type' is missing or not an integer.");
  m.training_type = json["training_type"].get<int>();
  for (const char* key : {"domain", "train_schema", "predict_schema"})
    if (!json.contains(key) || !json[key].is_object())
      throw util::InvalidDataError({}, std::string("metadata.json: '") + key + "' is missing or not an object.");
  m.domain = json["domain"];
  m.train_schema = json["train_schema"];
  m.predict_schema = json["predict_schema"];
  if (json.contains("node_durations")) m.node_durations = json["node_durations"];
  if (json.contains("cache_hits")) m.cache_hits = json["cache_hits"];
  return m;
}

void WriteArchive(const ModelStorage& storage, const ModelMetadata& metadata, const fs::path& archive_path) {
  if (!archive_path.parent_path().empty()) fs::create_directories(archive_path.parent_path());
  const fs::path temp = archive_path.parent_path() /
                        ("." + archive_path.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" + NewModelId().substr(0, 8));
  try {
    {
      WriteHandle w;
      archive_write_add_filter_gzip(w.a);
      archive_write_set_format_pax_restricted(w.a);
      Check(w.a, archive_write_open_filename(w.a, temp.c_str()), "Cannot create '" + temp.string() + "'");
      AddEntry(w.a, kMetadataFile, metadata.ToJson().dump(2), false);
      AddEntry(w.a, kComponentsDir, "", true);
      std::vector<fs::path> entries;
      for (const auto& e : fs::recursive_directory_iterator(storage.root())) entries.push_back(e.path());
      std::sort(entries.begin(), entries.end());
      for (const fs::path& p : entries) {
        const std::string name = std::string(kComponentsDir) + "/" + fs::relative(p, storage.root()).generic_string();
        if (fs::is_directory(p)) AddEntry(w.a, name, "", true);
        else if (fs::is_regular_file(p)) AddEntry(w.a, name, ReadWhole(p), false);
      }
      Check(w.a, archive_write_close(w.a), "Cannot finish the model archive");
    }
    // Durable before it becomes visible under the final name.
    if (FILE* f = std::fopen(temp.c_str(), "rb")) {
      ::fsync(fileno(f));
      std::fclose(f);
    }
    fs::rename(temp, archive_path);
  } catch (...) {
    std::error_code ec;
    fs::remove(temp, ec);
    throw;
  }
}

ModelMetadata ReadArchiveMetadata(const fs::path& path) {
  std::optional<ModelMetadata> metadata;
  bool rasa2 = false;
  ForEachEntry(path, [&](archive* a, archive_entry* entry) {
    const std::string name = Normalize(archive_entry_pathname(entry));
    if (name == "fingerprint.json") rasa2 = true;
    if (name == kMetadataFile && !metadata) metadata = ParseMetadata(ReadData(a, path), path);
  });
  if (rasa2) Refuse(path, "it is a Rasa 2 model (it has fingerprint.json); trainyard loads only its own models.");
  if (!metadata) Refuse(path, "it has no metadata.json; it is not a trainyard model.");
  return *metadata;
}

ModelMetadata UnpackArchive(const fs::path& path, const fs::path& directory) {
  std::error_code ec;
  if (fs::exists(directory, ec) && !fs::is_empty(directory, ec))
    throw util::Error(util::ErrorCode::kFailedPrecondition,
                      "The directory '" + directory.string() + "' is not empty. You can only unpack model "
                      "archives into an empty model storage.");
  const bool created = !fs::exists(directory, ec);
  fs::create_directories(directory);
  try {
    std::optional<ModelMetadata> metadata;
    ForEachEntry(path, [&](archive* a, archive_entry* entry) {
      const std::string name = Normalize(archive_entry_pathname(entry));
      if (name.empty()) return;
      if (name == "fingerprint.json")
        Refuse(path, "it is a Rasa 2 model (it has fingerprint.json); trainyard loads only its own models.");
      if (!SafeName(name)) Refuse(path, "its entry '" + name + "' would be written outside the target directory.");
      const auto type = archive_entry_filetype(entry);
      if (type != AE_IFREG && type != AE_IFDIR)
        Refuse(path, "its entry '" + name + "' is a link or special file; model archives hold only files.");
      if (name == kMetadataFile) {
        metadata = ParseMetadata(ReadData(a, path), path);
        return;
      }
      if (name != kComponentsDir && !util::StartsWith(name, std::string(kComponentsDir) + "/")) return;
      const std::string relative = name == kComponentsDir ? "" : name.substr(std::string(kComponentsDir).size() + 1);
      const fs::path target = directory / relative;
      if (type == AE_IFDIR) {
        fs::create_directories(target);
        return;
      }
      fs::create_directories(target.parent_path());
      std::ofstream(target, std::ios::binary) << ReadData(a, path);
    });
    if (!metadata) Refuse(path, "it has no metadata.json; it is not a trainyard model.");
    return *metadata;
  } catch (...) {
    if (created) fs::remove_all(directory, ec);
    else
      for (const auto& e : fs::directory_iterator(directory, ec)) fs::remove_all(e.path(), ec);
    throw;
  }
}

void WriteProjectArchive(const std::vector<std::pair<std::string, std::string>>& files, const fs::path& archive_path) {
  WriteHandle w;
  archive_write_add_filter_gzip(w.a);
  archive_write_set_format_pax_restricted(w.a);
  Check(w.a, archive_write_open_filename(w.a, archive_path.c_str()), "Cannot create '" + archive_path.string() + "'");
  for (const auto& [name, content] : files) AddEntry(w.a, name, content, false);
  Check(w.a, archive_write_close(w.a), "Cannot finish the project archive");
}

void UnpackProjectArchive(const fs::path& path, const fs::path& directory, size_t max_files, size_t max_bytes) {
  constexpr const char* kWhat = "project archive";
  size_t files = 0, bytes = 0;
  fs::create_directories(directory);
  ForEachEntry(
      path,
      [&](archive* a, archive_entry* entry) {
        const std::string name = Normalize(archive_entry_pathname(entry));
        if (name.empty()) return;
        if (!SafeName(name) || name.find('\0') != std::string::npos)
          Refuse(path, "its entry '" + name + "' would be written outside the project.", kWhat);
        const auto type = archive_entry_filetype(entry);
        if (type == AE_IFDIR) {
          fs::create_directories(directory / name);
          return;
        }
        if (type != AE_IFREG) Refuse(path, "its entry '" + name + "' is a link or special file.", kWhat);
        if (++files > max_files)
          Refuse(path, "it has more than " + std::to_string(max_files) + " files.", kWhat);
        const std::string data = ReadData(a, path, kWhat);
        bytes += data.size();
        if (bytes > max_bytes) Refuse(path, "it unpacks to more than " + std::to_string(max_bytes) + " bytes.", kWhat);
        fs::create_directories((directory / name).parent_path());
        std::ofstream(directory / name, std::ios::binary) << data;
      },
      kWhat);
}

}  // namespace trainyard::storage
