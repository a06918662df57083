// LayerToolbar: the compare window's "Layers" toolbar — one checkable action per entry of the layer
// table (scene/layers.h; objectName "layer-<name>"), the particle colour mode, "lock colours" and
// "fit view". It keeps a copy of the window's LayerOptions and reports the user's changes as signals.
#pragma once
#include <QToolBar>
#include <vector>

#include "scene/panel_scene.h"

class QAction;
class QComboBox;

namespace tl::ui {

class LayerToolbar : public QToolBar {
    Q_OBJECT
public:
    explicit LayerToolbar(QWidget* parent = nullptr);

    // The checks and the colour mode follow `options` (emits nothing).
    void setOptions(const LayerOptions& options);
    const LayerOptions& options() const { return options_; }
    // Layers drawn in 2-D only are disabled (with a tooltip saying why) for 3-D data.
    void setDim(int dim);
    // Checks "lock colours" as a click would (emits colorScaleLockToggled when it changes).
    void setColorScaleLocked(bool locked);

signals:
    void optionsChanged(const tl::ui::LayerOptions& options);  // a layer or the colour mode changed
    void colorScaleLockToggled(bool locked);
    void fitRequested();

private:
    LayerOptions options_;
    std::vector<QAction*> layerActions_;  // in layer table order
    QComboBox* colorMode_ = nullptr;
    QAction* lock_ = nullptr;
};

}  // namespace tl::ui
