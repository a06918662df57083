#include "scene/layers.h"

#include "util/error.h"

namespace tl::ui {

namespace {
// Constant-initialised: usable from other translation units' static initialisers (CLI option tables).
constexpr LayerInfo kLayers[] = {
    {"particles", "The particles (soft round splats)", &LayerOptions::particles},
    {"trajectories", "Paths so far, fading with age (OT geodesics are straight; flow matching bends)", &LayerOptions::trajectories},
    {"density", "Kernel density estimate of the particles, colour-mapped under the points (2-D)", &LayerOptions::density,
     "Density: drawn for 2-D scenarios only (a 3-D density would need a volume rendering; use the particles' colour by "
     "speed or a 2-D scenario)"},
    {"velocity", "Velocity glyphs: mass-weighted mean velocity on a grid", &LayerOptions::glyphs},
    {"ellipses", "Closed-form Gaussian overlays: 2-sigma covariance ellipses (Bures geodesic, Prop. 3.2 moments)", &LayerOptions::overlays},
    {"target", "Target samples, faint, in the background", &LayerOptions::target},
    {"axes", "Axes with ticks and labels (x, y; z in 3-D)", &LayerOptions::axes},
};
}  // namespace

std::span<const LayerInfo> layerTable() { return kLayers; }

const LayerInfo* findLayer(std::string_view name) {
    for (const LayerInfo& l : kLayers)
        if (name == l.name) return &l;
    return nullptr;
}

std::string layerNames(std::string_view separator) {
    std::string s;
    for (const LayerInfo& l : kLayers) {
        if (!s.empty()) s += separator;
        s += l.name;
    }
    return s;
}

LayerOptions layerOptionsFromText(const std::string& list, const std::string& color) {
    LayerOptions l;
    for (const LayerInfo& info : kLayers) l.*(info.field) = false;
    std::size_t start = 0;
    while (start <= list.size()) {
        std::size_t comma = list.find(',', start);
        if (comma == std::string::npos) comma = list.size();
        const std::string item = list.substr(start, comma - start);
        start = comma + 1;
        if (item.empty()) continue;
        const LayerInfo* info = findLayer(item);
        if (!info) throw Error("unknown layer '" + item + "' (known: " + layerNames(", ") + ")");
        l.*(info->field) = true;
    }
    if (color == "position") l.color = ColorMode::SourcePosition;
    else if (color == "speed") l.color = ColorMode::Speed;
    else if (color == "label") l.color = ColorMode::Label;
    else if (color == "uniform") l.color = ColorMode::Uniform;
    else throw Error("colour mode must be position, speed, label or uniform (got '" + color + "')");
    return l;
}

}  // namespace tl::ui
