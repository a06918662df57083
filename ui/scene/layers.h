// The layer table: the one list of the panel layers a user can switch (toolbar, --layers of the app and
// of `transportlab-cli render`, their help texts). A name is what users type and what the toolbar shows;
// `field` is the LayerOptions flag it sets (the names differ where the drawing does: velocity → glyphs,
// ellipses → overlays). Defaults stay in LayerOptions' initialisers.
#pragma once
#include <span>
#include <string>
#include <string_view>

#include "scene/panel_scene.h"

namespace tl::ui {

struct LayerInfo {
    const char* name;     // the word of --layers, the toolbar's text, and "layer-<name>" (the action's objectName)
    const char* tooltip;  // the toolbar's tooltip
    bool LayerOptions::*field;
    const char* tooltip3d = nullptr;  // set for layers drawn in 2-D only: why it is off in 3-D
};

// Every switchable layer, in toolbar order.
std::span<const LayerInfo> layerTable();
// The layer named `name` (or nullptr).
const LayerInfo* findLayer(std::string_view name);
// The names joined by `separator` (for help texts and error messages).
std::string layerNames(std::string_view separator = ",");

}  // namespace tl::ui
