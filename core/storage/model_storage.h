#pragma once

// Where graph components keep what they train (SPEC §6.1): one directory per
// resource under a root, normally a fresh temp directory per training run.
// Distinct resources may be written from different threads at once; one
// resource belongs to one node at a time.

#include <filesystem>
#include <memory>
#include <string>

namespace trainyard::storage {

class ModelStorage {
 public:
  // A storage rooted in a new temp directory, removed with the object.
  static std::unique_ptr<ModelStorage> CreateTemporary();
  // A storage over an existing directory, which is left in place.
  explicit ModelStorage(std::filesystem::path root, bool owned = false);
  ~ModelStorage();
  ModelStorage(const ModelStorage&) = delete;
  ModelStorage& operator=(const ModelStorage&) = delete;

  const std::filesystem::path& root() const { return root_; }

  // The directory of `resource`, created if missing.
  std::filesystem::path WriteTo(const std::string& resource) const;
  // The directory of an existing `resource`; throws util::NotFoundError with
  // Rasa's explanation when it was never persisted.
  std::filesystem::path ReadFrom(const std::string& resource) const;
  bool Has(const std::string& resource) const;
  // Replaces `resource` with a copy of `source` (restoring from the cache).
  void CopyIn(const std::string& resource, const std::filesystem::path& source) const;

 private:
  std::filesystem::path root_;
  bool owned_;
};

}  // namespace trainyard::storage
