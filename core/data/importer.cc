#include "core/data/importer.h"

#include <algorithm>
#include <functional>
#include <set>

#include "core/data/data_files.h"
#include "core/data/nlu_reader.h"
#include "core/data/story_reader.h"
#include "core/util/errors.h"
#include "core/util/fs.h"
#include "core/util/strings.h"

namespace fs = std::filesystem;

namespace trainyard::data {
namespace {

// Runs `fn`, turning a thrown InvalidDataError / NotFoundError into errors in
// `diagnostics` so that the import goes on with the next file.
template <typename Fn>
bool Collect(util::Diagnostics& diagnostics, const fs::path& file, Fn&& fn) {
  try {
    fn();
    return true;
  } catch (const util::InvalidDataError& e) {
    for (const util::Diagnostic& d : e.details()) diagnostics.Add(d);
  } catch (const util::NotFoundError& e) {
    diagnostics.Error({file.string()}, e.what());
  }
  return false;
}

bool UsesMultiProjectImporter(const ProjectConfig& config) {
  for (const ComponentSpec& importer : config.importers)
    if (importer.name == "MultiProjectImporter" || util::EndsWith(importer.name, ".MultiProjectImporter"))
      return true;
  return false;
}

// Resolves `imports:` recursively (MultiProjectImporter): each path relative
// to the config that lists it; a directory's own config.yml may import more.
void ResolveImports(const ProjectConfig& config, std::vector<fs::path>& projects,
                    std::vector<fs::path>& chain, util::Diagnostics& diagnostics) {
  const fs::path base = config.path.parent_path();
  for (size_t i = 0; i < config.imports.size(); ++i) {
    const fs::path target = fs::weakly_canonical(base / config.imports[i]);
    const util::SourceLocation& where = config.import_locations[i];
    if (std::find(chain.begin(), chain.end(), target) != chain.end()) {
      std::vector<std::string> names;
      for (const auto& c : chain) names.push_back(c.string());
      names.push_back(target.string());
      diagnostics.Warn(where, "Import cycle: " + util::Join(names, " -> ") +
                                  ". The repeated import is skipped.");
      continue;
    }
    if (std::find(projects.begin(), projects.end(), target) != projects.end()) continue;
    std::error_code ec;
    if (!fs::exists(target, ec)) {
      diagnostics.Warn(where, "'" + (base / config.imports[i]).string() +
                                  "' does not exist or is not a valid config file.");
      continue;
    }
    projects.push_back(target);
    for (const char* name : {"config.yml", "config.yaml"}) {
      const fs::path nested = target / name;
      if (!fs::is_regular_file(nested, ec)) continue;
      // Only `imports:` of an imported project's config matters; its other
      // problems (it may be an old config) are warnings, not errors.
      util::Diagnostics nested_diagnostics;
      ProjectConfig child;
      Collect(nested_diagnostics, nested, [&] { child = ReadConfig(nested, nested_diagnostics); });
      for (const util::Diagnostic& d : nested_diagnostics.all())
        diagnostics.Warn(d.location, "In the config of an imported project (only its 'imports' "
                                     "are used): " + d.message);
      chain.push_back(target);
      ResolveImports(child, projects, chain, diagnostics);
      chain.pop_back();
      break;
    }
  }
}

// Drops exact duplicate examples (Rasa sanitises its training data the same way).
void RemoveDuplicateExamples(TrainingData& data) {
  std::set<std::string> seen;
  std::vector<Message> kept;
  for (Message& m : data.examples) {
    Json key = {m.text, m.intent, m.intent_response_key};
    for (const EntityAnnotation& e : m.entities) key.push_back({e.start, e.end, e.entity, e.value, e.role, e.group});
    if (seen.insert(key.dump()).second) kept.push_back(std::move(m));
  }
  data.examples = std::move(kept);
}

// SPEC §7.5: what training adds to the domain from NLU data and stories.
void EnrichDomain(Project& project) {
  Domain& domain = project.domain;
  for (const auto& [name, response] : project.nlu.responses) domain.responses[name] = response;
  for (const std::string& intent : project.nlu.RetrievalIntents()) {
    bool found = false;
    for (IntentDefinition& i : domain.intents)
      if (i.name == intent) i.is_retrieval_intent = found = true;
    if (!found) {
      IntentDefinition i;
      i.name = intent;
      i.is_retrieval_intent = true;
      domain.intents.push_back(i);
    }
    const std::string action = "utter_" + intent;
    if (!domain.action_locations.count(action)) {
      domain.actions.push_back(action);
      domain.action_locations[action] = {};
    }
  }
  ForEachEvent(project.stories, [&](const StoryStep&, const StoryEvent& e) {
    if (e.type == EventType::kAction && e.name.empty() && !e.text.empty() &&
        std::find(domain.e2e_actions.begin(), domain.e2e_actions.end(), e.text) == domain.e2e_actions.end())
      domain.e2e_actions.push_back(e.text);
  });
}

void LoadDomain(const ImportOptions& options, const std::vector<fs::path>& projects, Project& project,
                util::Diagnostics& diagnostics) {
  util::Diagnostics domain_diagnostics;
  std::error_code ec;
  bool any = false;
  if (!options.domain_path.empty()) {
    if (fs::exists(options.domain_path, ec)) {
      any = true;
      Collect(domain_diagnostics, options.domain_path, [&] {
        project.domain.Merge(ReadDomain(options.domain_path, domain_diagnostics), domain_diagnostics);
      });
    } else {
      diagnostics.Warn({options.domain_path.string()},
                       "Failed to load domain specification from '" +
                           fs::absolute(options.domain_path).string() + "'. File not found! "
                           "Using an empty domain.");
    }
  }
  // MultiProjectImporter: the domain files of every imported project are merged too.
  for (const fs::path& dir : projects) {
    Collect(domain_diagnostics, dir, [&] {
      for (const DataFile& f : FindDataFiles({dir}, domain_diagnostics)) {
        if (!(f.kinds & kDomainFile) || f.path == options.domain_path) continue;
        any = true;
        project.domain.Merge(ParseDomain(util::ReadFile(f.path), f.path, domain_diagnostics),
                             domain_diagnostics);
      }
    });
  }
  project.domain_files = project.domain.files;
  if (!domain_diagnostics.has_errors()) {
    diagnostics.Append(domain_diagnostics);
    project.domain_loaded = any;
    return;
  }
  if (!options.lenient_domain) {
    diagnostics.Append(domain_diagnostics);
    return;
  }
  std::string details;
  for (const auto& d : domain_diagnostics.errors()) details += "\n  " + d.ToString();
  diagnostics.Warn({options.domain_path.string()},
                   "Loading domain from '" + options.domain_path.string() +
                       "' failed. Using empty domain. Error:" + details);
  project.domain = Domain();
}

}  // namespace

const std::vector<std::string>& DefaultActionNames() {
  static const std::vector<std::string> kNames = {
      "action_listen", "action_restart", "action_session_start", "action_default_fallback",
      "action_deactivate_loop", "action_revert_fallback_events", "action_default_ask_affirmation",
      "action_default_ask_rephrase", "action_two_stage_fallback", "action_unlikely_intent",
      "action_back", "action_send_text", "action_extract_slots"};
  return kNames;
}

const std::vector<std::string>& DefaultIntentNames() {
  static const std::vector<std::string> kNames = {"restart", "back", "out_of_scope",
                                                  "session_start", "nlu_fallback"};
  return kNames;
}

Project Import(const ImportOptions& options, util::Diagnostics& diagnostics) {
  Project project;
  std::error_code ec;

  // config.yml
  if (!options.config_path.empty() && fs::is_regular_file(options.config_path, ec)) {
    Collect(diagnostics, options.config_path,
            [&] {
              project.config_text = util::ReadFile(options.config_path);
              project.config = ParseConfig(project.config_text, options.config_path, diagnostics);
            });
  } else if (options.require_config) {
    diagnostics.Error({options.config_path.string()},
                      "The config file '" + options.config_path.string() +
                          "' does not exist. Use '--config' to specify a valid config file.");
  }

  // imports: (MultiProjectImporter)
  std::vector<fs::path> projects;
  if (!project.config.imports.empty()) {
    if (UsesMultiProjectImporter(project.config)) {
      std::vector<fs::path> chain{fs::weakly_canonical(project.config.path.parent_path())};
      ResolveImports(project.config, projects, chain, diagnostics);
    } else {
      diagnostics.Warn(project.config.import_locations.front(),
                       "'imports' is ignored: list `- name: MultiProjectImporter` under "
                       "'importers' in the config to import other projects.");
    }
  }
  project.imported_projects = projects;

  LoadDomain(options, projects, project, diagnostics);

  // Training data files: the --data paths, plus every imported project.
  std::vector<fs::path> roots = options.data_paths;
  roots.insert(roots.end(), projects.begin(), projects.end());
  std::vector<DataFile> files;
  for (const fs::path& root : roots) {
    if (!fs::exists(root, ec) && !fs::is_symlink(root, ec)) {
      diagnostics.Warn({root.string()}, "The data path '" + root.string() + "' does not exist.");
      continue;
    }
    Collect(diagnostics, root, [&] {
      for (DataFile& f : FindDataFiles({root}, diagnostics)) files.push_back(std::move(f));
    });
  }
  std::set<fs::path> seen;
  for (const DataFile& f : files) {
    if (!seen.insert(fs::weakly_canonical(f.path, ec)).second) continue;
    // Imported projects bring their test stories along; they are not training data.
    if ((f.kinds & kTestStoryFile) && !projects.empty()) continue;
    Collect(diagnostics, f.path, [&] {
      const std::string text = util::ReadFile(f.path);
      if (f.kinds & kNluFile) {
        project.nlu_files.push_back(f.path);
        TrainingData nlu = (f.kinds & kJsonNluFile) ? ParseNluJson(text, f.path, diagnostics)
                                                    : ParseNluYaml(text, f.path, diagnostics);
        project.nlu.Merge(nlu, diagnostics);
      }
      if (f.kinds & kStoryFile) {
        project.story_files.push_back(f.path);
        project.stories.Merge(ParseStories(text, f.path, diagnostics));
      }
    });
  }
  RemoveDuplicateExamples(project.nlu);
  project.story_graph = StoryGraph::Build(project.stories, diagnostics);
  EnrichDomain(project);

  if (diagnostics.has_errors()) throw util::InvalidDataError(diagnostics.all());
  return project;
}

}  // namespace trainyard::data
