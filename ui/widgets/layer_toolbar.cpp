#include "widgets/layer_toolbar.h"

#include <QAction>
#include <QComboBox>
#include <QLabel>
#include <QSignalBlocker>

#include "scene/layers.h"

namespace tl::ui {

LayerToolbar::LayerToolbar(QWidget* parent) : QToolBar("Layers", parent) {
    setObjectName("layers");
    setMovable(false);
    for (const LayerInfo& info : layerTable()) {
        QAction* a = addAction(info.name);
        a->setObjectName(QString("layer-") + info.name);
        a->setCheckable(true);
        a->setChecked(options_.*(info.field));
        a->setToolTip(info.tooltip);
        const auto field = info.field;
        connect(a, &QAction::toggled, this, [this, field](bool on) {
            options_.*field = on;
            emit optionsChanged(options_);
        });
        layerActions_.push_back(a);
    }
    addSeparator();
    addWidget(new QLabel(" colour by ", this));
    colorMode_ = new QComboBox(this);
    colorMode_->setObjectName("colorMode");
    for (ColorMode m : {ColorMode::SourcePosition, ColorMode::Speed, ColorMode::Label, ColorMode::Uniform})
        colorMode_->addItem(colorModeName(m), static_cast<int>(m));
    colorMode_->setToolTip("Particle colour: where it started (a colour wheel), its speed, its source mixture component, or one colour");
    addWidget(colorMode_);
    connect(colorMode_, &QComboBox::currentIndexChanged, this, [this] {
        options_.color = static_cast<ColorMode>(colorMode_->currentData().toInt());
        emit optionsChanged(options_);
    });
    lock_ = addAction("lock colours");
    lock_->setObjectName("lockColourScale");
    lock_->setCheckable(true);
    lock_->setToolTip("Speed and density colours use one scale in every panel; lock it so that it stays "
                      "the same over time too (unlock: it follows the frames shown)");
    connect(lock_, &QAction::toggled, this, &LayerToolbar::colorScaleLockToggled);
    addSeparator();
    QAction* fit = addAction("fit view");
    fit->setToolTip("Fit the linked cameras to the data (R)");
    connect(fit, &QAction::triggered, this, &LayerToolbar::fitRequested);
}

void LayerToolbar::setOptions(const LayerOptions& options) {
    options_ = options;
    const auto table = layerTable();
    for (std::size_t k = 0; k < layerActions_.size() && k < table.size(); ++k) {
        const QSignalBlocker b(layerActions_[k]);
        layerActions_[k]->setChecked(options.*(table[k].field));
    }
    const int ci = colorMode_->findData(static_cast<int>(options.color));
    if (ci >= 0) {
        const QSignalBlocker b(colorMode_);
        colorMode_->setCurrentIndex(ci);
    }
}

void LayerToolbar::setDim(int dim) {
    const auto table = layerTable();
    for (std::size_t k = 0; k < layerActions_.size() && k < table.size(); ++k) {
        if (!table[k].tooltip3d) continue;
        layerActions_[k]->setEnabled(dim <= 2);
        layerActions_[k]->setToolTip(dim <= 2 ? table[k].tooltip : table[k].tooltip3d);
    }
}

void LayerToolbar::setColorScaleLocked(bool locked) { lock_->setChecked(locked); }

}  // namespace tl::ui
