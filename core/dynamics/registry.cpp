#include "dynamics/registry.h"

#include "util/error.h"
#include "util/quote.h"

namespace tl {

const std::vector<DynamicsInfo>& dynamicsRegistry() {
    static const std::vector<DynamicsInfo> all = {dyn::otDisplacementInfo(), dyn::flowMatchingInfo(), dyn::diffusionInfo(), dyn::gradientFlowInfo(),
                                                   dyn::interactingParticlesInfo(), dyn::attentionInfo(), dyn::meanFieldNetworkInfo(),
                                                   dyn::trajectoryInferenceInfo(), dyn::benamouBrenierInfo(),
                                                   dyn::fieldRecoveryInfo()};
    return all;
}

const DynamicsInfo& findDynamics(const std::string& name) {
    std::string known;
    for (const auto& d : dynamicsRegistry()) {
        if (d.name == name) return d;
        known += (known.empty() ? "" : ", ") + d.name;
    }
    throw Error("unknown dynamics " + tl::quoted(name) + " (known: " + known + ")");
}

}  // namespace tl
