#pragma once

#include <memory>
#include <vector>

#include "core/policy/trackers.h"

namespace trainyard::policy {

// What `training_tracker_provider` hands to policies.
using TrackersPtr = std::shared_ptr<const std::vector<TrainingTracker>>;

// Registers TrainingTrackerProvider and the policies implemented so far.
void RegisterPolicyComponents();
void RegisterMemoizationPolicies();

}  // namespace trainyard::policy
