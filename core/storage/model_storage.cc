#include "core/storage/model_storage.h"

#include <cstdlib>

#include "core/util/errors.h"

namespace fs = std::filesystem;

namespace trainyard::storage {
namespace {

// Resource names are node names; refuse anything that could leave the root.
void CheckName(const std::string& resource) {
  if (resource.empty() || resource.find('/') != std::string::npos || resource == "." || resource == "..")
    throw util::Error(util::ErrorCode::kInternal, "Invalid resource name '" + resource + "'.");
}

}  // namespace

std::unique_ptr<ModelStorage> ModelStorage::CreateTemporary() {
  std::string pattern = (fs::temp_directory_path() / "trainyard-model-XXXXXX").string();
  if (!::mkdtemp(pattern.data()))
    throw util::Error(util::ErrorCode::kInternal, "Cannot create a temporary model storage directory.");
  return std::make_unique<ModelStorage>(pattern, true);
}

ModelStorage::ModelStorage(fs::path root, bool owned) : root_(std::move(root)), owned_(owned) {
  fs::create_directories(root_);
}

ModelStorage::~ModelStorage() {
  if (!owned_) return;
  std::error_code ec;
  fs::remove_all(root_, ec);
}

fs::path ModelStorage::WriteTo(const std::string& resource) const {
  CheckName(resource);
  const fs::path dir = root_ / resource;
  fs::create_directories(dir);
  return dir;
}

bool ModelStorage::Has(const std::string& resource) const {
  std::error_code ec;
  return !resource.empty() && fs::is_directory(root_ / resource, ec);
}

fs::path ModelStorage::ReadFrom(const std::string& resource) const {
  CheckName(resource);
  if (!Has(resource))
    throw util::NotFoundError(
        "Resource '" + resource + "' does not exist. Please make sure that the graph component "
        "providing the resource is a parent node of the current graph node (in case this happens "
        "during training) or that the resource was actually persisted during training (in case this "
        "happens during inference).");
  return root_ / resource;
}

void ModelStorage::CopyIn(const std::string& resource, const fs::path& source) const {
  CheckName(resource);
  const fs::path dir = root_ / resource;
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::copy(source, dir, fs::copy_options::recursive);
}

}  // namespace trainyard::storage
