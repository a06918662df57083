#include "widgets/scenario_dock.h"
#include "widgets/retire_widget.h"

#include <QApplication>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPointer>
#include <QPushButton>
#include <QScrollArea>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>
#include <QWheelEvent>

#include "dynamics/registry.h"
#include "engine/dynamics.h"
#include "widgets/measure_picker.h"
#include "widgets/param_form.h"

namespace tl::ui {

namespace {
// Wheel events over a spin box or combo box of the dock that the user has not clicked into scroll the
// dock instead of changing the value (a value changed by a stray wheel would recompute).
class DockWheelGuard : public QObject {
public:
    DockWheelGuard(QScrollArea* area, QObject* parent) : QObject(parent), area_(area) {}

protected:
    bool eventFilter(QObject* o, QEvent* e) override {
        if (e->type() != QEvent::Wheel || !area_) return false;
        auto* w = qobject_cast<QWidget*>(o);
        if (!w || w->hasFocus() || !(qobject_cast<QAbstractSpinBox*>(w) || qobject_cast<QComboBox*>(w))) return false;
        if (!area_->isAncestorOf(w)) return false;
        QCoreApplication::sendEvent(area_->viewport(), e);
        return true;
    }

private:
    QPointer<QScrollArea> area_;
};
}  // namespace

ScenarioDock::ScenarioDock(QWidget* parent) : QDockWidget("Scenario", parent) {
    setObjectName("scenarioDock");
    auto* scroll = new QScrollArea(this);
    scroll->setWidgetResizable(true);
    auto* sw = new QWidget(scroll);
    auto* sl = new QVBoxLayout(sw);
    sourcePicker_ = new MeasurePicker("source", sw);
    targetPicker_ = new MeasurePicker("target", sw);
    about_ = new QLabel(sw);
    about_->setWordWrap(true);
    about_->setTextFormat(Qt::RichText);
    about_->setObjectName("scenarioDescription");
    sl->addWidget(about_);
    sl->addWidget(sourcePicker_);
    sl->addWidget(targetPicker_);
    auto* framesRow = new QHBoxLayout;
    framesRow->addWidget(new QLabel("frames", sw));
    frames_ = new QSpinBox(sw);
    frames_->setObjectName("frames");
    frames_->setRange(2, 2001);
    frames_->setKeyboardTracking(false);
    frames_->setToolTip("Frames per run, at uniform times from t = 0 to t = duration");
    framesRow->addWidget(frames_, 1);
    framesRow->addWidget(new QLabel("duration", sw));
    duration_ = new QDoubleSpinBox(sw);
    duration_->setRange(0.01, 1e4);
    duration_->setDecimals(2);
    duration_->setKeyboardTracking(false);
    duration_->setToolTip("Time horizon T: gradient flows run on [0, T]; transport dynamics go from source to target over it");
    framesRow->addWidget(duration_, 1);
    sl->addLayout(framesRow);
    editorsHost_ = new QWidget(sw);
    editorsLayout_ = new QVBoxLayout(editorsHost_);
    editorsLayout_->setContentsMargins(0, 0, 0, 0);
    sl->addWidget(editorsHost_);
    addPanel_ = new QPushButton("Add panel", sw);
    addPanel_->setToolTip("Add a dynamics panel (up to 4), pushing the same source samples");
    sl->addWidget(addPanel_);
    sl->addStretch();
    scroll->setWidget(sw);
    qApp->installEventFilter(new DockWheelGuard(scroll, this));
    setWidget(scroll);
    setMinimumWidth(300);
    connect(sourcePicker_, &MeasurePicker::specChanged, this, &ScenarioDock::sourceEdited);
    connect(targetPicker_, &MeasurePicker::specChanged, this, &ScenarioDock::targetEdited);
    connect(frames_, &QSpinBox::valueChanged, this, &ScenarioDock::framesEdited);
    connect(duration_, &QDoubleSpinBox::valueChanged, this, &ScenarioDock::durationEdited);
    connect(addPanel_, &QPushButton::clicked, this, &ScenarioDock::addPanelClicked);
}

void ScenarioDock::showScenario(const Scenario& s) {
    sourcePicker_->setSpec(QString::fromStdString(s.source), QString::fromStdString(s.baseDir));
    targetPicker_->setSpec(QString::fromStdString(s.target), QString::fromStdString(s.baseDir));
    {
        const QSignalBlocker b(frames_);
        frames_->setValue(s.frames);
        const QSignalBlocker bd(duration_);
        duration_->setValue(s.duration);
    }
    about_->setText("<b>" + QString::fromStdString(s.name).toHtmlEscaped() + "</b>" +
                    (s.description.empty() ? QString() : "<br>" + QString::fromStdString(s.description).toHtmlEscaped()));
}

// The old forms go by the event loop (retire_widget.h): showPanels is often called from inside a
// signal of one of their own widgets (a title's editingFinished, a combo box's currentTextChanged).
void ScenarioDock::retireEditors() {
    for (auto& e : editors_) {
        editorsLayout_->removeWidget(e.box);
        retireWidget(e.box);
    }
    editors_.clear();
}

void ScenarioDock::showPanels(const Scenario& s) {
    retireEditors();
    const int n = static_cast<int>(s.panels.size());
    for (int k = 0; k < n; ++k) {
        const PanelSpec& spec = s.panels[static_cast<std::size_t>(k)];
        PanelEditor e;
        e.box = new QGroupBox(QString("panel %1").arg(k + 1), editorsHost_);
        auto* l = new QVBoxLayout(e.box);
        auto* top = new QHBoxLayout;
        e.dynamics = new QComboBox(e.box);
        e.dynamics->setObjectName("dynamics");
        for (const auto& info : dynamicsRegistry()) {
            e.dynamics->addItem(QString::fromStdString(info.name));
            e.dynamics->setItemData(e.dynamics->count() - 1, QString::fromStdString(info.help), Qt::ToolTipRole);
        }
        e.dynamics->setCurrentText(QString::fromStdString(spec.dynamics));
        top->addWidget(e.dynamics, 1);
        auto* remove = new QToolButton(e.box);
        remove->setText(QString::fromUtf8("\u2715"));
        remove->setToolTip("Remove this panel");
        remove->setEnabled(n > 1);
        top->addWidget(remove);
        l->addLayout(top);
        e.title = new QLineEdit(QString::fromStdString(spec.title), e.box);
        e.title->setObjectName("title");
        e.title->setPlaceholderText(QString::fromStdString(spec.dynamics));
        e.title->setToolTip("The panel's title (views, chart legend, exports); empty = the dynamics' name");
        l->addWidget(e.title);
        e.form = new ParamForm(findDynamics(spec.dynamics).params, spec.params, e.box);
        l->addWidget(e.form);
        editorsLayout_->addWidget(e.box);
        connect(e.dynamics, &QComboBox::currentTextChanged, this, [this, k](const QString& name) { emit panelDynamicsEdited(k, name); });
        // Not inside the button's own signal: removing the panel deletes this editor.
        connect(remove, &QToolButton::clicked, this, [this, k] { QTimer::singleShot(0, this, [this, k] { emit panelRemoveClicked(k); }); });
        connect(e.form, &ParamForm::valuesChanged, this, [this, k](const ParamValues& v) { emit panelParamsEdited(k, v); });
        connect(e.title, &QLineEdit::editingFinished, this, [this, k, t = e.title] { emit panelTitleEdited(k, t->text()); });
        editors_.push_back(e);
    }
}

void ScenarioDock::setCanAddPanel(bool can) { addPanel_->setEnabled(can); }

void ScenarioDock::showPanelParams(int panel, const ParamValues& values) {
    if (panel >= 0 && panel < static_cast<int>(editors_.size())) editors_[static_cast<std::size_t>(panel)].form->setValues(values);
}

void ScenarioDock::showPanelTitle(int panel, const QString& title) {
    if (panel < 0 || panel >= static_cast<int>(editors_.size())) return;
    QLineEdit* t = editors_[static_cast<std::size_t>(panel)].title;
    if (t->text() != title) t->setText(title);
}

ParamForm* ScenarioDock::panelForm(int panel) const { return editors_.at(static_cast<std::size_t>(panel)).form; }

}  // namespace tl::ui
