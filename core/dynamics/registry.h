// The declarations of every dynamics (one function per implementation file).
#pragma once
#include "engine/dynamics.h"

namespace tl::dyn {
DynamicsInfo otDisplacementInfo();
DynamicsInfo flowMatchingInfo();
DynamicsInfo diffusionInfo();
DynamicsInfo gradientFlowInfo();
DynamicsInfo interactingParticlesInfo();
DynamicsInfo attentionInfo();
DynamicsInfo meanFieldNetworkInfo();
DynamicsInfo trajectoryInferenceInfo();
DynamicsInfo benamouBrenierInfo();
DynamicsInfo fieldRecoveryInfo();
}  // namespace tl::dyn
