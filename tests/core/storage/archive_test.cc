#include "core/storage/archive.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <regex>

#include "core/storage/model_name.h"
#include "core/util/errors.h"
#include "tests/support/test_helpers.h"

namespace fs = std::filesystem;

namespace trainyard::storage {
namespace {

ModelMetadata SampleMetadata() {
  ModelMetadata m;
  m.trained_at = UtcTimestamp();
  m.model_id = NewModelId();
  m.producer_version = "0.1.0";
  m.domain = {{"intents", {"greet"}}};
  m.train_schema = {{"nodes", Json::object()}};
  m.predict_schema = {{"nodes", Json::object()}};
  m.training_type = 1;
  m.language = "en";
  return m;
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(ModelStorage, ResourcesAreDirectoriesAndMissingOnesAreExplained) {
  auto storage = ModelStorage::CreateTemporary();
  const fs::path root = storage->root();
  std::ofstream(storage->WriteTo("train_DIETClassifier5") / "weights.bin") << "w";
  EXPECT_TRUE(storage->Has("train_DIETClassifier5"));
  try {
    storage->ReadFrom("nope");
    FAIL();
  } catch (const util::NotFoundError& e) {
    EXPECT_NE(std::string(e.what()).find("Resource 'nope' does not exist."), std::string::npos);
  }
  EXPECT_THROW(storage->WriteTo("../escape"), util::Error);
  storage.reset();
  EXPECT_FALSE(fs::exists(root));  // temp storage is removed
}

TEST(Archive, RoundTripRestoresResourcesAndMetadata) {
  testing::TempDir dir;
  ModelStorage storage(dir.path() / "storage");
  std::ofstream(storage.WriteTo("domain_provider") / "domain.yml") << "intents: [greet]\n";
  fs::create_directories(storage.WriteTo("train_X0") / "sub");
  std::ofstream(storage.WriteTo("train_X0") / "sub" / "data.bin", std::ios::binary) << std::string(100000, '\x01');
  const ModelMetadata metadata = SampleMetadata();
  const fs::path archive = dir.path() / "models" / "deep" / "model.tar.gz";
  WriteArchive(storage, metadata, archive);
  ASSERT_TRUE(fs::exists(archive));
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(archive.parent_path())) files += !e.is_directory();
  EXPECT_EQ(files, 1u) << "no temp file may be left next to the archive";

  const ModelMetadata loaded = UnpackArchive(archive, dir.path() / "unpacked");
  EXPECT_EQ(loaded.model_id, metadata.model_id);
  EXPECT_EQ(loaded.domain, metadata.domain);
  EXPECT_EQ(*loaded.language, "en");
  EXPECT_EQ(Slurp(dir.path() / "unpacked" / "domain_provider" / "domain.yml"), "intents: [greet]\n");
  EXPECT_EQ(fs::file_size(dir.path() / "unpacked" / "train_X0" / "sub" / "data.bin"), 100000u);
  EXPECT_EQ(ReadArchiveMetadata(archive).model_id, metadata.model_id);
}

TEST(Archive, UnpackingIntoANonEmptyDirectoryFails) {
  testing::TempDir dir;
  ModelStorage storage(dir.path() / "storage");
  WriteArchive(storage, SampleMetadata(), dir.path() / "m.tar.gz");
  dir.Write("target/existing.txt", "x");
  EXPECT_THROW(UnpackArchive(dir.path() / "m.tar.gz", dir.path() / "target"), util::Error);
}

TEST(Archive, CorruptTruncatedAndForeignArchivesAreRefused) {
  testing::TempDir dir;
  ModelStorage storage(dir.path() / "storage");
  std::ofstream(storage.WriteTo("r") / "f") << std::string(50000, 'x');
  WriteArchive(storage, SampleMetadata(), dir.path() / "good.tar.gz");
  const std::string good = Slurp(dir.path() / "good.tar.gz");
  dir.Write("truncated.tar.gz", good.substr(0, good.size() / 2));
  dir.Write("text.tar.gz", "this is not an archive at all");
  for (const char* name : {"truncated.tar.gz", "text.tar.gz"}) {
    try {
      ReadArchiveMetadata(dir.path() / name);
      UnpackArchive(dir.path() / name, dir.path() / (std::string("out-") + name));
      FAIL() << name;
    } catch (const util::InvalidDataError& e) {
      EXPECT_NE(std::string(e.what()).find("Cannot load the model archive"), std::string::npos) << e.what();
      EXPECT_FALSE(fs::exists(dir.path() / (std::string("out-") + name))) << "partial unpack left behind";
    }
  }
  EXPECT_THROW(ReadArchiveMetadata(dir.path() / "missing.tar.gz"), util::NotFoundError);
}

// Writes a tar.gz with Python's tarfile: entries (name, content or "->target"
// for a symlink), so that archives trainyard never writes can be tested.
void MakeTar(const fs::path& out, const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string script = "import io,sys,tarfile\nt=tarfile.open(sys.argv[1],'w:gz')\n";
  for (const auto& [name, content] : entries) {
    if (content.rfind("->", 0) == 0) {
      script += "i=tarfile.TarInfo('" + name + "');i.type=tarfile.SYMTYPE;i.linkname='" + content.substr(2) +
                "';t.addfile(i)\n";
    } else {
      script += "d=" + Json(content).dump() + ".encode();i=tarfile.TarInfo('" + name +
                "');i.size=len(d);t.addfile(i,io.BytesIO(d))\n";
    }
  }
  script += "t.close()\n";
  const fs::path py = out.string() + ".py";
  std::ofstream(py) << script;
  ASSERT_EQ(std::system(("python3 " + py.string() + " " + out.string()).c_str()), 0);
}

struct Foreign {
  const char* name;
  std::vector<std::pair<std::string, std::string>> entries;
  const char* message;
};

TEST(Archive, RefusesForeignAndHostileArchives) {
  testing::TempDir dir;
  Json ours = SampleMetadata().ToJson();
  Json rasa = ours;
  rasa.erase("trainyard_version");
  rasa["rasa_open_source_version"] = "3.6.2";
  Json old = ours;
  old["trainyard_version"] = "0.0.1";
  const std::vector<Foreign> cases = {
      {"rasa3", {{"metadata.json", rasa.dump()}, {"components/x/f", "1"}}, "produced by Rasa 3.6.2"},
      {"rasa2", {{"fingerprint.json", "{}"}, {"core/policy.json", "{}"}}, "Rasa 2 model"},
      {"old", {{"metadata.json", old.dump()}}, "Retrain the model"},
      {"nometa", {{"components/x/f", "1"}}, "has no metadata.json"},
      {"escape", {{"metadata.json", ours.dump()}, {"components/../../evil", "x"}}, "outside the target"},
      {"absolute", {{"metadata.json", ours.dump()}, {"/tmp/trainyard-evil", "x"}}, "outside the target"},
      {"symlink", {{"metadata.json", ours.dump()}, {"components/link", "->/etc/passwd"}}, "link or special file"},
  };
  for (const Foreign& c : cases) {
    const fs::path archive = dir.path() / (std::string(c.name) + ".tar.gz");
    MakeTar(archive, c.entries);
    const fs::path target = dir.path() / (std::string("out-") + c.name);
    try {
      UnpackArchive(archive, target);
      ADD_FAILURE() << c.name << " was accepted";
    } catch (const util::InvalidDataError& e) {
      EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos) << c.name << ": " << e.what();
    }
    EXPECT_FALSE(fs::exists(target)) << c.name << ": partial unpack left behind";
  }
  EXPECT_FALSE(fs::exists(dir.path() / "evil"));
  EXPECT_FALSE(fs::exists("/tmp/trainyard-evil"));
}

TEST(ModelName, FixedNamesAndGeneratedNamesFollowRasa) {
  EXPECT_EQ(ModelFileName(3, std::string("model")), "model.tar.gz");
  EXPECT_EQ(ModelFileName(3, std::string("model.tar.gz")), "model.tar.gz");
  EXPECT_EQ(ModelFileName(3, std::string("test.1.2")), "test.1.2.tar.gz");
  EXPECT_EQ(ModelFileName(3, std::string("test.1.2.3")), "test.1.2.3.tar.gz");
  const std::regex both("[0-9]{8}-[0-9]{6}-[a-z]+-[a-z]+\\.tar\\.gz");
  EXPECT_TRUE(std::regex_match(ModelFileName(3, std::nullopt), both));
  EXPECT_TRUE(std::regex_match(ModelFileName(4, std::nullopt), both));
  EXPECT_TRUE(std::regex_match(ModelFileName(1, std::nullopt).substr(4), both));
  EXPECT_EQ(ModelFileName(1, std::nullopt).substr(0, 4), "nlu-");
  EXPECT_EQ(ModelFileName(2, std::nullopt).substr(0, 5), "core-");
}

TEST(ModelId, IsAVersion4UuidInHex) {
  const std::string id = NewModelId();
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(id[12], '4');
  EXPECT_NE(id, NewModelId());
}

}  // namespace
}  // namespace trainyard::storage
