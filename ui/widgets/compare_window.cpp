#include "widgets/compare_window.h"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QCloseEvent>
#include <QComboBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QTextBrowser>
#include <QDir>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QElapsedTimer>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QPointer>
#include <QProgressBar>
#include <QProgressDialog>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QSlider>
#include <QSpinBox>
#include <QStatusBar>
#include <QTimer>
#include <QWheelEvent>
#include <QToolBar>
#include <QToolButton>
#include <QVBoxLayout>
#include <atomic>
#include <cmath>
#include <mutex>
#include <thread>

#include <vtkCamera.h>
#include <vtkNew.h>

#include "dynamics/registry.h"
#include "engine/dynamics.h"
#include "engine/frame_io.h"
#include "engine/runner.h"
#include "export/export_dialog.h"
#include "export/render_animation.h"
#include "measure/measure.h"
#include "measure/spec.h"
#include "scene/panel_scene.h"
#include "util/error.h"
#include "vtk/vtk_view_widget.h"
#include "widgets/measure_picker.h"
#include "widgets/metrics_panel.h"
#include "widgets/param_form.h"

namespace tl::ui {

namespace {

// Wheel events over a spin box or combo box of the Scenario dock that the user has not clicked into
// scroll the dock instead of changing the value (a value changed by a stray wheel would recompute).
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
const QColor kBackground(20, 22, 30);

QString panelTitle(const PanelSpec& spec) { return QString::fromStdString(spec.title.empty() ? spec.dynamics : spec.title); }
constexpr double kSecondsPerRun = 4.0;  // t from 0 to 1 at 1x speed
constexpr int kMaxRecent = 8;

// The compute thread reaches the window only through this link; retiring a runner cuts it first.
struct RunnerLink {
    std::mutex m;
    QObject* window = nullptr;
    std::atomic<bool> pending{false};
};
}  // namespace

struct PanelView {
    VtkViewWidget* view = nullptr;
    std::unique_ptr<PanelScene> scene;
    std::shared_ptr<const Measure> target, source;
    FramePtr sourceFrame;  // the source at t = 0: shown while a new run has no frame yet (never stale frames)
    FramePtr rendered;   // what the view last drew: render again only when something changed
    QString statusText;
};

struct PanelEditor {
    QGroupBox* box = nullptr;
    QLineEdit* title = nullptr;
    QComboBox* dynamics = nullptr;
    ParamForm* form = nullptr;
};

struct CompareWindow::Impl {
    Scenario scenario;
    QString lastError;
    std::unique_ptr<Runner> runner;
    std::shared_ptr<RunnerLink> link;
    std::vector<std::jthread> reapers;  // old runners being cancelled and joined off the GUI thread
    std::vector<PanelView> panels;
    vtkNew<vtkCamera> camera;  // linked: every view looks through it
    // 0: not fitted; 1: fitted to the first frames (refit once when the runs are complete, unless the
    // user has moved the camera since); 2: done.
    int fitState = 0;
    bool userMovedCamera = false;
    int viewDim = 2;
    LayerOptions layers;

    QWidget* viewsHost = nullptr;
    QGridLayout* grid = nullptr;
    QSlider* slider = nullptr;
    bool settingSlider = false;  // setTime is moving the handle
    QToolButton* play = nullptr;
    QLabel* timeLabel = nullptr;
    QComboBox* speed = nullptr;
    QCheckBox* loop = nullptr;
    QProgressBar* progress = nullptr;
    QToolButton* cancel = nullptr;
    QTimer timer;
    QElapsedTimer clock;
    double t = 0;
    bool playing = true;

    MeasurePicker *sourcePicker = nullptr, *targetPicker = nullptr;
    QSpinBox* frames = nullptr;
    QLabel* about = nullptr;  // the scenario's name and description, atop the Scenario dock
    QDoubleSpinBox* duration = nullptr;
    QWidget* editorsHost = nullptr;
    QVBoxLayout* editorsLayout = nullptr;
    std::vector<PanelEditor> editors;
    QPushButton* addPanel = nullptr;
    MetricsPanel* metrics = nullptr;
    QMenu* recentMenu = nullptr;
    std::vector<QAction*> layerActions;
    QComboBox* colorMode = nullptr;
    bool exporting = false;
    QAction* lockRanges = nullptr;
    ColorRanges locked;      // the colour scale held while lockRanges is on (0: shared per frame)
    ColorRanges shared;      // what the views use now
    // Undo / redo of scenario edits (whole scenarios: small), and unsaved changes.
    std::vector<Scenario> undo, redo;
    bool applyingHistory = false;
    bool modified = false;
    bool closeConfirmed = false;
    QAction *undoAction = nullptr, *redoAction = nullptr;

    void retireRunner() {
        if (!runner) return;
        {
            std::lock_guard<std::mutex> lk(link->m);
            link->window = nullptr;
        }
        runner->cancel();
        // Joining may wait for the current step (an exact OT solve, a training epoch): not on the GUI thread.
        reapers.emplace_back([r = std::move(runner)]() mutable { r.reset(); });
    }
};

CompareWindow::CompareWindow(const Scenario& scenario, QWidget* parent) : QMainWindow(parent), d_(std::make_unique<Impl>()) {
    d_->scenario = scenario;
    setAcceptDrops(true);
    d_->camera->ParallelProjectionOn();

    // ---- central: views + timeline ----
    auto* central = new QWidget(this);
    auto* outer = new QVBoxLayout(central);
    outer->setContentsMargins(0, 0, 0, 0);
    outer->setSpacing(0);
    d_->viewsHost = new QWidget(central);
    d_->grid = new QGridLayout(d_->viewsHost);
    d_->grid->setContentsMargins(0, 0, 0, 0);
    d_->grid->setSpacing(2);
    outer->addWidget(d_->viewsHost, 1);

    auto* bar = new QHBoxLayout;
    bar->setContentsMargins(8, 4, 8, 4);
    d_->play = new QToolButton(central);
    d_->play->setText("Pause");
    d_->play->setToolTip("Play / pause (space)");
    auto* stepBack = new QToolButton(central);
    stepBack->setText(QString::fromUtf8("\u25C0"));
    stepBack->setToolTip("Step back one frame (left arrow)");
    auto* stepFwd = new QToolButton(central);
    stepFwd->setText(QString::fromUtf8("\u25B6"));
    stepFwd->setToolTip("Step forward one frame (right arrow)");
    d_->slider = new QSlider(Qt::Horizontal, central);
    d_->slider->setToolTip("Scrub (left / right arrows step one frame)");
    d_->timeLabel = new QLabel("t = 0.00", central);
    d_->timeLabel->setMinimumWidth(70);
    d_->speed = new QComboBox(central);
    d_->speed->addItems({"0.25x", "0.5x", "1x", "2x"});
    d_->speed->setCurrentIndex(2);
    d_->speed->setToolTip("Playback speed (1x: t from 0 to 1 in 4 s)");
    d_->loop = new QCheckBox("loop", central);
    d_->loop->setChecked(true);
    d_->progress = new QProgressBar(central);
    d_->progress->setRange(0, 1000);
    d_->progress->setMaximumWidth(180);
    d_->progress->setFormat("computing %p%");
    d_->cancel = new QToolButton(central);
    d_->cancel->setText("Cancel");
    d_->cancel->setToolTip("Stop computing (the panels keep the frames they have)");
    for (QWidget* w : std::initializer_list<QWidget*>{d_->play, stepBack, stepFwd}) bar->addWidget(w);
    bar->addWidget(d_->slider, 1);
    for (QWidget* w : std::initializer_list<QWidget*>{d_->timeLabel, d_->speed, d_->loop, d_->progress, d_->cancel}) bar->addWidget(w);
    outer->addLayout(bar);
    setCentralWidget(central);

    connect(d_->play, &QToolButton::clicked, this, [this] { setPlaying(!d_->playing); });
    auto step = [this](int dir) {
        setPlaying(false);
        setTime(d_->t + dir * 1.0 / std::max(1, d_->scenario.frames - 1));
    };
    connect(stepBack, &QToolButton::clicked, this, [step] { step(-1); });
    connect(stepFwd, &QToolButton::clicked, this, [step] { step(1); });
    // Every user change of the slider (drag, click on the track, wheel, keys) sets the time; setTime's
    // own updates of the handle are not user changes.
    connect(d_->slider, &QSlider::valueChanged, this, [this](int f) {
        if (d_->settingSlider) return;
        setPlaying(false);
        setTime(static_cast<double>(f) / std::max(1, d_->scenario.frames - 1));
    });
    connect(d_->cancel, &QToolButton::clicked, this, [this] { cancelComputation(); });
    connect(&d_->timer, &QTimer::timeout, this, &CompareWindow::onTick);

    // ---- layers toolbar ----
    auto* tb = addToolBar("Layers");
    tb->setObjectName("layers");
    tb->setMovable(false);
    struct LayerToggle {
        const char* name;
        const char* tip;
        bool LayerOptions::*flag;
    };
    const LayerToggle toggles[] = {
        {"particles", "The particles (soft round splats)", &LayerOptions::particles},
        {"trajectories", "Paths so far, fading with age (OT geodesics are straight; flow matching bends)", &LayerOptions::trajectories},
        {"density", "Kernel density estimate of the particles, colour-mapped under the points (2-D)", &LayerOptions::density},
        {"velocity", "Velocity glyphs: mass-weighted mean velocity on a grid", &LayerOptions::glyphs},
        {"ellipses", "Closed-form Gaussian overlays: 2-sigma covariance ellipses (Bures geodesic, Prop. 3.2 moments)", &LayerOptions::overlays},
        {"target", "Target samples, faint, in the background", &LayerOptions::target},
        {"axes", "Axes with ticks and labels (x, y; z in 3-D)", &LayerOptions::axes},
    };
    for (const auto& tg : toggles) {
        QAction* a = tb->addAction(tg.name);
        a->setObjectName(QString("layer-") + tg.name);
        a->setCheckable(true);
        a->setChecked(d_->layers.*(tg.flag));
        a->setToolTip(tg.tip);
        const auto flag = tg.flag;
        connect(a, &QAction::toggled, this, [this, flag](bool on) {
            LayerOptions l = d_->layers;
            l.*flag = on;
            setLayers(l);
        });
        d_->layerActions.push_back(a);
    }
    tb->addSeparator();
    tb->addWidget(new QLabel(" colour by ", tb));
    d_->colorMode = new QComboBox(tb);
    d_->colorMode->setObjectName("colorMode");
    for (ColorMode m : {ColorMode::SourcePosition, ColorMode::Speed, ColorMode::Label, ColorMode::Uniform})
        d_->colorMode->addItem(colorModeName(m), static_cast<int>(m));
    d_->colorMode->setToolTip("Particle colour: where it started (a colour wheel), its speed, its source mixture component, or one colour");
    tb->addWidget(d_->colorMode);
    connect(d_->colorMode, &QComboBox::currentIndexChanged, this, [this] {
        LayerOptions l = d_->layers;
        l.color = static_cast<ColorMode>(d_->colorMode->currentData().toInt());
        setLayers(l);
    });
    d_->lockRanges = tb->addAction("lock colours");
    d_->lockRanges->setObjectName("lockColourScale");
    d_->lockRanges->setCheckable(true);
    d_->lockRanges->setToolTip("Speed and density colours use one scale in every panel; lock it so that it stays "
                               "the same over time too (unlock: it follows the frames shown)");
    connect(d_->lockRanges, &QAction::toggled, this, [this](bool on) {
        d_->locked = on ? d_->shared : ColorRanges{};
        refreshViews(true);
    });
    tb->addSeparator();
    QAction* fit = tb->addAction("fit view");
    fit->setToolTip("Fit the linked cameras to the data (R)");
    connect(fit, &QAction::triggered, this, [this] {
        d_->fitState = 0;
        d_->userMovedCamera = false;
        refreshViews(true);
    });

    // ---- scenario dock ----
    auto* sdock = new QDockWidget("Scenario", this);
    sdock->setObjectName("scenarioDock");
    auto* scroll = new QScrollArea(sdock);
    scroll->setWidgetResizable(true);
    auto* sw = new QWidget(scroll);
    auto* sl = new QVBoxLayout(sw);
    d_->sourcePicker = new MeasurePicker("source", sw);
    d_->targetPicker = new MeasurePicker("target", sw);
    d_->about = new QLabel(sw);
    d_->about->setWordWrap(true);
    d_->about->setTextFormat(Qt::RichText);
    d_->about->setObjectName("scenarioDescription");
    sl->addWidget(d_->about);
    sl->addWidget(d_->sourcePicker);
    sl->addWidget(d_->targetPicker);
    auto* framesRow = new QHBoxLayout;
    framesRow->addWidget(new QLabel("frames", sw));
    d_->frames = new QSpinBox(sw);
    d_->frames->setRange(2, 2001);
    d_->frames->setKeyboardTracking(false);
    d_->frames->setToolTip("Frames per run, at uniform times from t = 0 to t = duration");
    framesRow->addWidget(d_->frames, 1);
    framesRow->addWidget(new QLabel("duration", sw));
    d_->duration = new QDoubleSpinBox(sw);
    d_->duration->setRange(0.01, 1e4);
    d_->duration->setDecimals(2);
    d_->duration->setKeyboardTracking(false);
    d_->duration->setToolTip("Time horizon T: gradient flows run on [0, T]; transport dynamics go from source to target over it");
    framesRow->addWidget(d_->duration, 1);
    sl->addLayout(framesRow);
    d_->editorsHost = new QWidget(sw);
    d_->editorsLayout = new QVBoxLayout(d_->editorsHost);
    d_->editorsLayout->setContentsMargins(0, 0, 0, 0);
    sl->addWidget(d_->editorsHost);
    d_->addPanel = new QPushButton("Add panel", sw);
    d_->addPanel->setToolTip("Add a dynamics panel (up to 4), pushing the same source samples");
    sl->addWidget(d_->addPanel);
    sl->addStretch();
    scroll->setWidget(sw);
    qApp->installEventFilter(new DockWheelGuard(scroll, this));
    sdock->setWidget(scroll);
    sdock->setMinimumWidth(300);
    addDockWidget(Qt::LeftDockWidgetArea, sdock);
    connect(d_->sourcePicker, &MeasurePicker::specChanged, this, [this](const QString& s) {
        setMeasures(s, QString::fromStdString(d_->scenario.target));
    });
    connect(d_->targetPicker, &MeasurePicker::specChanged, this, [this](const QString& s) {
        setMeasures(QString::fromStdString(d_->scenario.source), s);
    });
    connect(d_->frames, &QSpinBox::valueChanged, this, [this](int n) {
        if (n == d_->scenario.frames) return;
        Scenario s = d_->scenario;
        s.frames = n;
        setScenario(s);
    });
    connect(d_->duration, &QDoubleSpinBox::valueChanged, this, [this](double T) {
        if (std::abs(T - d_->scenario.duration) < 1e-12) return;
        Scenario s = d_->scenario;
        s.duration = T;
        setScenario(s);
    });
    connect(d_->addPanel, &QPushButton::clicked, this, [this] { addPanel("flow-matching"); });

    // ---- metrics dock ----
    auto* mdock = new QDockWidget("Metrics", this);
    mdock->setObjectName("metricsDock");
    d_->metrics = new MetricsPanel(mdock);
    mdock->setWidget(d_->metrics);
    addDockWidget(Qt::BottomDockWidgetArea, mdock);

    // ---- menus ----
    QMenu* file = menuBar()->addMenu("&File");
    QAction* open = file->addAction("&Open scenario\u2026", this, [this] {
        // The folder of the last scenario opened, else the shipped presets.
        const QStringList recent = recentFiles();
        const QString start = !recent.isEmpty() ? QFileInfo(recent.front()).absolutePath() : QString(TL_PRESETS_DIR);
        const QString p = QFileDialog::getOpenFileName(this, "Open scenario", start, "Scenarios (*.json)");
        if (!p.isEmpty()) openScenario(p);
    });
    open->setShortcut(QKeySequence::Open);
    d_->recentMenu = file->addMenu("Open &recent");
    QAction* save = file->addAction("&Save scenario as\u2026", this, [this] {
        const QString p = QFileDialog::getSaveFileName(this, "Save scenario", QString::fromStdString(d_->scenario.baseDir), "Scenarios (*.json)");
        if (!p.isEmpty()) saveScenario(p.endsWith(".json") ? p : p + ".json");
    });
    save->setShortcut(QKeySequence::Save);
    file->addSeparator();
    QAction* exp = file->addAction("&Export\u2026", this, &CompareWindow::showExportDialog);
    exp->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    QAction* picture = file->addAction("Save &picture\u2026", this, &CompareWindow::showSavePictureDialog);
    picture->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_S));
    picture->setToolTip("The views as they are now (camera, time, layers) as a PNG, at the view size or a chosen size");
    file->addSeparator();
    QAction* quit = file->addAction("&Quit", this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);
    QMenu* edit = menuBar()->addMenu("&Edit");
    d_->undoAction = edit->addAction("&Undo", this, &CompareWindow::undo);
    d_->undoAction->setShortcut(QKeySequence::Undo);
    d_->redoAction = edit->addAction("&Redo", this, &CompareWindow::redo);
    d_->redoAction->setShortcuts({QKeySequence::Redo, QKeySequence(Qt::CTRL | Qt::Key_Y)});
    QMenu* view = menuBar()->addMenu("&View");
    view->addAction(sdock->toggleViewAction());
    view->addAction(mdock->toggleViewAction());
    view->addAction(tb->toggleViewAction());
    QMenu* help = menuBar()->addMenu("&Help");
    QAction* helpAction = help->addAction("TransportLab &help", this, &CompareWindow::showHelp);
    helpAction->setShortcut(QKeySequence::HelpContents);
    updateRecentMenu();
    updateEditState();

    d_->timer.start(33);
    d_->clock.start();
    restart();
}

CompareWindow::~CompareWindow() {
    d_->timer.stop();
    d_->retireRunner();
    d_->reapers.clear();  // joins: every compute thread is gone before the views
}

// ------------------------------------------------------------------------------------------------
// scenario and runner

const Scenario& CompareWindow::scenario() const { return d_->scenario; }

void CompareWindow::setScenario(const Scenario& scenario) {
    recordEdit();
    const bool measuresChanged = scenario.source != d_->scenario.source || scenario.target != d_->scenario.target;
    d_->scenario = scenario;
    if (measuresChanged) d_->fitState = 0;
    restart();
}

void CompareWindow::restart() {
    d_->retireRunner();
    updateEditState();
    if (static_cast<int>(d_->panels.size()) != static_cast<int>(d_->scenario.panels.size())) buildViews();
    for (std::size_t k = 0; k < d_->panels.size(); ++k) {
        const auto& spec = d_->scenario.panels[k];
        d_->panels[k].scene->setTitle(panelTitle(spec));
    }
    buildPanelEditors();
    d_->sourcePicker->setSpec(QString::fromStdString(d_->scenario.source), QString::fromStdString(d_->scenario.baseDir));
    d_->targetPicker->setSpec(QString::fromStdString(d_->scenario.target), QString::fromStdString(d_->scenario.baseDir));
    {
        const QSignalBlocker b(d_->frames);
        d_->frames->setValue(d_->scenario.frames);
        const QSignalBlocker bd(d_->duration);
        d_->duration->setValue(d_->scenario.duration);
    }
    d_->settingSlider = true;
    d_->slider->setRange(0, d_->scenario.frames - 1);
    d_->settingSlider = false;
    d_->about->setText("<b>" + QString::fromStdString(d_->scenario.name).toHtmlEscaped() + "</b>" +
                       (d_->scenario.description.empty() ? QString()
                                                         : "<br>" + QString::fromStdString(d_->scenario.description).toHtmlEscaped()));

    d_->link = std::make_shared<RunnerLink>();
    d_->link->window = this;
    d_->runner = std::make_unique<Runner>(d_->scenario);
    d_->runner->setUpdateCallback([link = d_->link] {
        // From the compute thread: coalesce into one queued call on the GUI thread.
        std::lock_guard<std::mutex> lk(link->m);
        if (link->window && !link->pending.exchange(true))
            QMetaObject::invokeMethod(link->window, "onRunnerUpdate", Qt::QueuedConnection);
    });
    d_->runner->start();
    d_->progress->setValue(0);
    d_->progress->show();
    d_->cancel->show();
    setTime(d_->t);  // the handle, the label and the views agree for the new frame count and duration
}

void CompareWindow::buildViews() {
    for (auto& p : d_->panels) {
        p.scene.reset();
        d_->grid->removeWidget(p.view);
        delete p.view;
    }
    d_->panels.clear();
    const int n = static_cast<int>(d_->scenario.panels.size());
    int rows = 1, cols = 1;
    panelGrid(n, &rows, &cols);
    d_->panels.resize(static_cast<std::size_t>(n));
    for (int k = 0; k < n; ++k) {
        PanelView& p = d_->panels[static_cast<std::size_t>(k)];
        p.view = new VtkViewWidget(d_->viewsHost);
        p.view->setObjectName(QString("panel%1").arg(k));
        p.view->setBackground(kBackground);
        p.view->setMinimumSize(280, 240);
        p.view->setCamera(d_->camera);
        d_->grid->addWidget(p.view, k / cols, k % cols);
        p.scene = std::make_unique<PanelScene>(p.view->renderer(), p.view->devicePixelRatioF());
        p.scene->setOptions(d_->layers);
        connect(p.view, &VtkViewWidget::cameraInteracted, this, [this] {
            d_->userMovedCamera = true;
            for (auto& q : d_->panels) q.view->requestRender();
        });
    }
    d_->fitState = 0;
    d_->addPanel->setEnabled(n < kMaxGuiPanels);
}

void CompareWindow::buildPanelEditors() {
    for (auto& e : d_->editors) delete e.box;
    d_->editors.clear();
    const int n = static_cast<int>(d_->scenario.panels.size());
    for (int k = 0; k < n; ++k) {
        const PanelSpec& spec = d_->scenario.panels[static_cast<std::size_t>(k)];
        PanelEditor e;
        e.box = new QGroupBox(QString("panel %1").arg(k + 1), d_->editorsHost);
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
        d_->editorsLayout->addWidget(e.box);
        connect(e.dynamics, &QComboBox::currentTextChanged, this, [this, k](const QString& name) { setPanelDynamics(k, name); });
        connect(remove, &QToolButton::clicked, this, [this, k] { QTimer::singleShot(0, this, [this, k] { removePanel(k); }); });
        connect(e.form, &ParamForm::valuesChanged, this, [this, k](const ParamValues& v) { setPanelParams(k, v); });
        connect(e.title, &QLineEdit::editingFinished, this, [this, k, t = e.title] { setPanelTitle(k, t->text()); });
        d_->editors.push_back(e);
    }
}

void CompareWindow::setPanelParams(int panel, const ParamValues& values) {
    if (panel < 0 || panel >= static_cast<int>(d_->scenario.panels.size())) return;
    recordEdit();
    d_->scenario.panels[static_cast<std::size_t>(panel)].params = values;
    if (panel < static_cast<int>(d_->editors.size())) d_->editors[static_cast<std::size_t>(panel)].form->setValues(values);
    try {
        d_->runner->setPanelParams(static_cast<std::size_t>(panel), values);  // restarts only this panel
    } catch (const std::exception& e) {
        showError(QString::fromUtf8(e.what()));
    }
    d_->progress->show();
    d_->cancel->show();
}

void CompareWindow::setPanelDynamics(int panel, const QString& dynamics) {
    if (panel < 0 || panel >= static_cast<int>(d_->scenario.panels.size())) return;
    PanelSpec& p = d_->scenario.panels[static_cast<std::size_t>(panel)];
    if (p.dynamics == dynamics.toStdString()) return;
    try {
        const auto& info = findDynamics(dynamics.toStdString());
        recordEdit();
        p.dynamics = info.name;
        p.params = defaultParams(info.params);
        p.title.clear();
        d_->runner->setPanelSpec(static_cast<std::size_t>(panel), p);  // only this panel recomputes
    } catch (const std::exception& e) {
        return showError(QString::fromUtf8(e.what()));
    }
    // Its form and title follow (not inside the combo's own signal).
    QTimer::singleShot(0, this, [this] { syncPanels(); });
}

void CompareWindow::setPanelTitle(int panel, const QString& title) {
    if (panel < 0 || panel >= static_cast<int>(d_->scenario.panels.size())) return;
    PanelSpec& p = d_->scenario.panels[static_cast<std::size_t>(panel)];
    if (p.title == title.trimmed().toStdString()) return;
    recordEdit();
    p.title = title.trimmed().toStdString();
    d_->runner->setPanelSpec(static_cast<std::size_t>(panel), p);  // a title alone recomputes nothing
    const std::size_t k = static_cast<std::size_t>(panel);
    if (k < d_->panels.size()) d_->panels[k].scene->setTitle(panelTitle(p));
    if (k < d_->editors.size() && d_->editors[k].title->text() != title) d_->editors[k].title->setText(title);
    refreshViews(true);
    onRunnerUpdate();
}

bool CompareWindow::addPanel(const QString& dynamics) {
    if (static_cast<int>(d_->scenario.panels.size()) >= kMaxGuiPanels) return false;
    try {
        const auto& info = findDynamics(dynamics.toStdString());
        recordEdit();
        d_->scenario.panels.push_back({info.name, "", defaultParams(info.params)});
        d_->runner->addPanel(d_->scenario.panels.back());  // the others keep computing / playing
    } catch (const std::exception& e) {
        showError(QString::fromUtf8(e.what()));
        return false;
    }
    syncPanels();
    return true;
}

void CompareWindow::removePanel(int panel) {
    if (panel < 0 || panel >= static_cast<int>(d_->scenario.panels.size()) || d_->scenario.panels.size() <= 1) return;
    recordEdit();
    d_->scenario.panels.erase(d_->scenario.panels.begin() + panel);
    d_->runner->removePanel(static_cast<std::size_t>(panel));
    syncPanels();
}

void CompareWindow::syncPanels() {
    // Views and editors for the scenario's panels, keeping the camera (the runs are the runner's).
    const int fit = d_->fitState;
    if (d_->panels.size() != d_->scenario.panels.size()) {
        buildViews();
        d_->fitState = fit;
    }
    for (std::size_t k = 0; k < d_->panels.size(); ++k) d_->panels[k].scene->setTitle(panelTitle(d_->scenario.panels[k]));
    buildPanelEditors();
    d_->progress->show();
    d_->cancel->show();
    refreshViews(true);
    onRunnerUpdate();
}

void CompareWindow::recordEdit() {
    if (d_->applyingHistory) return;
    d_->undo.push_back(d_->scenario);
    if (d_->undo.size() > 200) d_->undo.erase(d_->undo.begin());
    d_->redo.clear();
    d_->modified = true;
    updateEditState();
}

void CompareWindow::updateEditState() {
    if (d_->undoAction) d_->undoAction->setEnabled(!d_->undo.empty());
    if (d_->redoAction) d_->redoAction->setEnabled(!d_->redo.empty());
    setWindowTitle(QString::fromUtf8("TransportLab \u2014 ") + QString::fromStdString(d_->scenario.name) + (d_->modified ? " *" : ""));
}

bool CompareWindow::hasUnsavedChanges() const { return d_->modified; }
bool CompareWindow::canUndo() const { return !d_->undo.empty(); }
bool CompareWindow::canRedo() const { return !d_->redo.empty(); }

void CompareWindow::undo() {
    if (d_->undo.empty()) return;
    d_->redo.push_back(d_->scenario);
    Scenario s = std::move(d_->undo.back());
    d_->undo.pop_back();
    applyScenario(s);
}

void CompareWindow::redo() {
    if (d_->redo.empty()) return;
    d_->undo.push_back(d_->scenario);
    Scenario s = std::move(d_->redo.back());
    d_->redo.pop_back();
    applyScenario(s);
}

void CompareWindow::applyScenario(const Scenario& s) {
    // Only what differs recomputes: the same measures, frames and panel count → per-panel specs.
    auto frame = [](Scenario x) {
        x.panels.clear();
        return scenarioToJson(x) + "\n" + x.baseDir;
    };
    d_->applyingHistory = true;
    if (frame(s) == frame(d_->scenario) && s.panels.size() == d_->scenario.panels.size()) {
        for (std::size_t k = 0; k < s.panels.size(); ++k) {
            const PanelSpec &a = d_->scenario.panels[k], &b = s.panels[k];
            if (a.dynamics == b.dynamics && a.params == b.params && a.title == b.title) continue;
            d_->runner->setPanelSpec(k, b);
        }
        d_->scenario = s;
        syncPanels();
    } else {
        const bool measuresChanged = s.source != d_->scenario.source || s.target != d_->scenario.target;
        d_->scenario = s;
        if (measuresChanged) d_->fitState = 0;
        restart();
    }
    d_->applyingHistory = false;
    d_->modified = true;
    updateEditState();
}

void CompareWindow::setMeasures(const QString& source, const QString& target) {
    Scenario s = d_->scenario;
    s.source = source.toStdString();
    s.target = target.toStdString();
    if (s.source == d_->scenario.source && s.target == d_->scenario.target) return;
    auto kind = [](const std::string& spec) {
        const auto c = spec.find(':');
        return c == std::string::npos ? QFileInfo(QString::fromStdString(spec)).fileName().toStdString() : spec.substr(0, c);
    };
    s.name = kind(s.source) + " \u2192 " + kind(s.target);
    setScenario(s);
}

bool CompareWindow::openFile(const QString& path) {
    if (path.endsWith(".json", Qt::CaseInsensitive)) return openScenario(path);
    if (!MeasurePicker::acceptsFile(path)) {
        showError("'" + QFileInfo(path).fileName() + "' is not a scenario (.json), a CSV point cloud or an image");
        return false;
    }
    if (!d_->targetPicker->setFile(QFileInfo(path).absoluteFilePath())) {
        showError(d_->targetPicker->error());
        return false;
    }
    statusBar()->showMessage("target: " + path, 5000);
    return true;
}

bool CompareWindow::openScenario(const QString& path) {
    Scenario s;
    try {
        s = loadScenario(path.toStdString());
    } catch (const std::exception& e) {
        showError("Cannot open '" + path + "':\n" + QString::fromUtf8(e.what()));
        return false;
    }
    if (static_cast<int>(s.panels.size()) > kMaxGuiPanels)
        statusBar()->showMessage(QString("%1 panels: the window shows them all; add/remove works up to %2").arg(s.panels.size()).arg(kMaxGuiPanels), 8000);
    d_->fitState = 0;
    d_->scenario = s;
    d_->undo.clear();
    d_->redo.clear();
    d_->modified = false;
    restart();
    updateEditState();
    addRecent(QFileInfo(path).absoluteFilePath());
    return true;
}

bool CompareWindow::saveScenario(const QString& path) {
    try {
        tl::saveScenario(path.toStdString(), d_->scenario);
    } catch (const std::exception& e) {
        showError("Cannot save '" + path + "':\n" + QString::fromUtf8(e.what()));
        return false;
    }
    d_->modified = false;
    updateEditState();
    addRecent(QFileInfo(path).absoluteFilePath());
    statusBar()->showMessage("saved " + path, 5000);
    return true;
}

QStringList CompareWindow::recentFiles() const { return QSettings().value("recentFiles").toStringList(); }

void CompareWindow::addRecent(const QString& path) {
    QStringList r = recentFiles();
    r.removeAll(path);
    r.prepend(path);
    while (r.size() > kMaxRecent) r.removeLast();
    QSettings().setValue("recentFiles", r);
    updateRecentMenu();
}

void CompareWindow::updateRecentMenu() {
    d_->recentMenu->clear();
    const QStringList r = recentFiles();
    for (const QString& p : r) d_->recentMenu->addAction(QFileInfo(p).fileName(), this, [this, p] { openScenario(p); })->setToolTip(p);
    d_->recentMenu->setEnabled(!r.isEmpty());
}

void CompareWindow::showError(const QString& message) {
    d_->lastError = message;
    // Window-modal but not blocking: the event loop (and the compute updates) keep running.
    auto* box = new QMessageBox(QMessageBox::Critical, "TransportLab", message, QMessageBox::Ok, this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

QString CompareWindow::lastError() const { return d_->lastError; }

// ------------------------------------------------------------------------------------------------
// playback and views

double CompareWindow::time() const { return d_->t; }

std::vector<FramePtr> CompareWindow::panelFrames(int panel) const {
    if (panel < 0 || static_cast<std::size_t>(panel) >= d_->runner->panelCount()) return {};
    return d_->runner->history(static_cast<std::size_t>(panel))->snapshot();
}

PanelStatus CompareWindow::panelStatus(int panel) const {
    if (panel < 0 || static_cast<std::size_t>(panel) >= d_->runner->panelCount()) return {};
    return d_->runner->status(static_cast<std::size_t>(panel));
}

double CompareWindow::shownTime() const { return d_->t * d_->scenario.duration; }

QSlider* CompareWindow::timeSlider() const { return d_->slider; }
ColorRanges CompareWindow::colorRanges() const { return d_->shared; }
void CompareWindow::setColorScaleLocked(bool locked) { d_->lockRanges->setChecked(locked); }

QString CompareWindow::helpMarkdown() {
    // Generated from the same declarations as the scenario format and the forms (one place).
    return "# TransportLab\n\nThe same source samples pushed by different dynamics, side by side. Each dynamics below "
           "names the formula it implements (science.md) and every parameter with its default and range.\n\n"
           "## Keys\n\n| key | action |\n|---|---|\n| Space | play / pause |\n| Left / Right | one frame back / forward |\n"
           "| Home / End | first / last frame |\n| Ctrl+O / Ctrl+S | open / save a scenario |\n| Ctrl+E | export (animation or frame data) |\n"
           "| Ctrl+Shift+S | save a picture of the views |\n| Ctrl+Z / Ctrl+Shift+Z | undo / redo a scenario edit |\n| F1 | this help |\n"
           "| mouse wheel / drag | zoom / pan (2-D), orbit (3-D) |\n\n## Scenarios and dynamics\n\n" +
           QString::fromStdString(scenarioReferenceMarkdown()) + "\n\n## Measures\n\n" + QString::fromStdString(specReferenceMarkdown());
}

void CompareWindow::showHelp() {
    auto* dlg = new QDialog(this);
    dlg->setAttribute(Qt::WA_DeleteOnClose);
    dlg->setWindowTitle("TransportLab help");
    auto* l = new QVBoxLayout(dlg);
    auto* text = new QTextBrowser(dlg);
    text->setObjectName("helpText");
    text->setMarkdown(helpMarkdown());
    l->addWidget(text);
    dlg->resize(900, 700);
    dlg->show();
}
bool CompareWindow::isPlaying() const { return d_->playing; }

void CompareWindow::setPlaying(bool playing) {
    d_->playing = playing;
    d_->play->setText(playing ? "Pause" : "Play");
    d_->clock.restart();
}

bool CompareWindow::computationFinished() const {
    if (!d_->runner->error().empty()) return true;
    for (std::size_t k = 0; k < d_->runner->panelCount(); ++k) {
        const auto st = d_->runner->status(k).state;
        if (st != PanelState::Done && st != PanelState::Failed && st != PanelState::Cancelled) return false;
    }
    return true;
}

QString CompareWindow::samplingError() const { return QString::fromStdString(d_->runner->error()); }

void CompareWindow::cancelComputation() {
    d_->runner->cancel();
    statusBar()->showMessage("computation cancelled", 4000);
}

void CompareWindow::setLayers(const LayerOptions& layers) {
    d_->layers = layers;
    // Keep the toolbar in step (setting the same state emits nothing).
    const bool flags[] = {layers.particles, layers.trajectories, layers.density, layers.glyphs, layers.overlays, layers.target, layers.axes};
    for (std::size_t k = 0; k < d_->layerActions.size() && k < std::size(flags); ++k) d_->layerActions[k]->setChecked(flags[k]);
    const int ci = d_->colorMode->findData(static_cast<int>(layers.color));
    if (ci >= 0) d_->colorMode->setCurrentIndex(ci);
    for (auto& p : d_->panels) p.scene->setOptions(layers);
    refreshViews(true);
}

LayerOptions CompareWindow::layers() const { return d_->layers; }
int CompareWindow::panelCount() const { return static_cast<int>(d_->panels.size()); }
VtkViewWidget* CompareWindow::view(int panel) const { return d_->panels.at(static_cast<std::size_t>(panel)).view; }
MetricsPanel* CompareWindow::metricsPanel() const { return d_->metrics; }
PanelScene* CompareWindow::panelScene(int panel) const { return d_->panels.at(static_cast<std::size_t>(panel)).scene.get(); }
MeasurePicker* CompareWindow::sourcePicker() const { return d_->sourcePicker; }
MeasurePicker* CompareWindow::targetPicker() const { return d_->targetPicker; }
ParamForm* CompareWindow::panelForm(int panel) const { return d_->editors.at(static_cast<std::size_t>(panel)).form; }

std::vector<double> CompareWindow::shownPositions(int panel, int* dim) const {
    FramePtr f = d_->panels.at(static_cast<std::size_t>(panel)).scene->shownFrame();
    if (dim) *dim = f ? f->dim : 0;
    return f ? f->positions : std::vector<double>{};
}

void CompareWindow::onRunnerUpdate() {
    if (d_->link) d_->link->pending = false;
    double progress = 0;
    const std::size_t n = d_->runner->panelCount();
    std::vector<std::vector<FramePtr>> frames(n);
    std::vector<PanelStatus> status(n);
    std::vector<QString> titles(n);
    for (std::size_t k = 0; k < n; ++k) {
        status[k] = d_->runner->status(k);
        const bool finished = status[k].state == PanelState::Done || status[k].state == PanelState::Failed;
        progress += finished ? 1.0 : status[k].progress;
        frames[k] = d_->runner->history(k)->snapshot();
        titles[k] = k < d_->scenario.panels.size() ? panelTitle(d_->scenario.panels[k]) : QString::number(k + 1);
    }
    d_->progress->setValue(static_cast<int>(1000 * progress / std::max<std::size_t>(1, n)));
    const bool done = computationFinished();
    d_->progress->setVisible(!done);
    d_->cancel->setVisible(!done);
    d_->metrics->setRuns(frames, titles, status);
    refreshViews();
}

void CompareWindow::onTick() {
    if (!d_->playing) return;
    const double dt = d_->clock.restart() / 1000.0;
    static const double speeds[] = {0.25, 0.5, 1.0, 2.0};
    double t = d_->t + dt * speeds[std::clamp(d_->speed->currentIndex(), 0, 3)] / kSecondsPerRun;
    if (t > 1) {
        if (d_->loop->isChecked()) t = 0;
        else {
            t = 1;
            setPlaying(false);
        }
    }
    setTime(t);
}

void CompareWindow::setTime(double t) {
    d_->t = std::clamp(t, 0.0, 1.0);
    const int frame = static_cast<int>(std::lround(d_->t * (d_->scenario.frames - 1)));
    if (!d_->slider->isSliderDown()) {
        d_->settingSlider = true;
        d_->slider->setValue(frame);
        d_->settingSlider = false;
    }
    // d_->t is the fraction of the run; the views, chart and label show scenario time t = fraction * duration.
    const double tt = d_->t * d_->scenario.duration;
    d_->timeLabel->setText(QString("t = %1").arg(tt, 0, 'f', d_->scenario.duration >= 10 ? 1 : 2));
    d_->metrics->setTime(tt);
    refreshViews();
}

void CompareWindow::refreshViews(bool force) {
    auto source = d_->runner->source();
    auto target = d_->runner->target();
    for (std::size_t k = 0; k < d_->panels.size() && k < d_->runner->panelCount(); ++k) {
        PanelView& p = d_->panels[k];
        if (source && source != p.source) {
            p.source = source;
            p.scene->setSource(source);
            auto f0 = std::make_shared<Frame>();
            f0->dim = source->cloud.dim;
            f0->positions = source->cloud.points;
            f0->weights = source->cloud.weights;
            p.sourceFrame = f0;
        }
        if (target && target != p.target) {
            p.target = target;
            p.scene->setTarget(target);
        }
        std::vector<FramePtr> frames = d_->runner->history(k)->snapshot();
        // A run that has produced nothing yet shows its source at t = 0, not the previous run's frames.
        if (frames.empty() && p.sourceFrame) frames = {p.sourceFrame};
        FramePtr f = p.scene->show(frames, d_->t * d_->scenario.duration);
        const PanelStatus st = d_->runner->status(k);
        const QString text = !d_->runner->error().empty() ? QString::fromUtf8("\u26A0 ") + QString::fromStdString(d_->runner->error())
                                                          : panelStatusText(st, f.get());
        // Software GL makes every render count: only when the frame or the status line changed.
        if (f == p.rendered && text == p.statusText && !force) continue;
        p.rendered = f;
        p.statusText = text;
        p.scene->setStatus(text);
        if (f && f->dim != d_->viewDim) {
            d_->viewDim = f->dim;
            d_->fitState = 0;
            for (auto& q : d_->panels)
                q.view->setInteraction(f->dim == 3 ? VtkViewWidget::Interaction::Trackball3D : VtkViewWidget::Interaction::Pan2D);
            // The density layer is a 2-D image (a KDE or the grid): in 3-D it is off, and says why.
            QAction* density = d_->layerActions.size() > 2 ? d_->layerActions[2] : nullptr;
            if (density) {
                density->setEnabled(f->dim <= 2);
                density->setToolTip(f->dim <= 2 ? "Kernel density estimate of the particles, colour-mapped under the points (2-D)"
                                                : "Density: drawn for 2-D scenarios only (a 3-D density would need a volume "
                                                  "rendering; use the particles' colour by speed or a 2-D scenario)");
            }
        }
        p.view->requestRender();
    }
    // One colour, one value side by side: the speed and density scales shared over the panels.
    std::vector<PanelScene*> scenes;
    for (auto& p : d_->panels) scenes.push_back(p.scene.get());
    const ColorRanges shared = shareColorRanges(scenes, d_->locked);
    if (shared.speed != d_->shared.speed || shared.density != d_->shared.density) {
        d_->shared = shared;
        for (auto& p : d_->panels) p.view->requestRender();
    }
    const bool finished = computationFinished();
    if (d_->fitState == 0 || (d_->fitState == 1 && finished)) {
        // One fit for the linked camera: the union of every panel's data bounds.
        double b[6] = {0, 0, 0, 0, 0, 0};
        bool any = false;
        for (auto& p : d_->panels) {
            double bb[6];
            if (!p.scene->dataBounds(bb)) continue;
            for (int a = 0; a < 3; ++a) {
                b[2 * a] = any ? std::min(b[2 * a], bb[2 * a]) : bb[2 * a];
                b[2 * a + 1] = any ? std::max(b[2 * a + 1], bb[2 * a + 1]) : bb[2 * a + 1];
            }
            any = true;
        }
        if (any && !d_->panels.empty()) {
            for (auto& p : d_->panels) p.view->setFitBounds(b);
            if (d_->fitState == 0 || !d_->userMovedCamera) d_->panels.front().view->resetCamera(fitMargin(d_->layers));
            d_->fitState = finished ? 2 : 1;
        }
    }
}

QImage CompareWindow::grabWindowImage() {
    setTime(d_->t);
    for (auto& p : d_->panels) p.view->grabImage();  // render each view now
    d_->metrics->chartView()->grabImage();
    return grab().toImage();
}

// ------------------------------------------------------------------------------------------------
// export

void CompareWindow::showExportDialog() {
    QStringList titles;
    for (const auto& p : d_->scenario.panels) titles << panelTitle(p);
    ExportRequest initial;
    initial.render.layers = d_->layers;
    initial.path = QDir(QString::fromStdString(d_->scenario.baseDir)).filePath("transportlab.mp4");
    ExportDialog dialog(titles, initial, this);
    if (dialog.exec() != QDialog::Accepted) return;
    ExportRequest r = dialog.request();
    r.render.layers = d_->layers;
    exportTo(r);
}

bool CompareWindow::exportTo(const ExportRequest& request) {
    if (d_->exporting) return false;
    if (!computationFinished()) {
        showError("Still computing: export when the progress bar is gone (or cancel the computation).");
        return false;
    }
    RunSnapshot run = RunSnapshot::of(*d_->runner);
    run.scenario = d_->scenario;  // with every live edit (the runner's copy too, but this is the source of truth)
    ExportRequest req = request;
    if (!req.render.camera) req.render.camera = screenCamera();  // what the user sees, zoom and pan included
    req.render.fixedRanges = d_->locked;
    d_->exporting = true;
    const bool wasPlaying = d_->playing;
    setPlaying(false);
    QProgressDialog progress(request.kind == ExportRequest::Kind::Data ? "Writing frame data\u2026" : "Rendering and encoding\u2026", "Cancel", 0,
                             1000, this);
    progress.setWindowModality(Qt::WindowModal);
    progress.setMinimumDuration(0);
    progress.setValue(0);
    bool ok = false;
    try {
        if (request.kind == ExportRequest::Kind::Data) {
            ok = exportFrameData(req.path.toStdString(), run.scenario, run.frames, req.csv, req.vtp, [&](double f) {
                progress.setValue(static_cast<int>(1000 * f));
                QApplication::processEvents();
                return !progress.wasCanceled();
            });
        } else {
            ok = renderAnimation(run, req.path.toStdString(), req.render, [&](int done, int total) {
                progress.setValue(1000 * done / std::max(1, total));
                QApplication::processEvents();
                return !progress.wasCanceled();
            });
        }
    } catch (const std::exception& e) {
        progress.close();
        d_->exporting = false;
        setPlaying(wasPlaying);
        showError("Export failed: " + QString::fromUtf8(e.what()));
        return false;
    }
    progress.close();
    d_->exporting = false;
    setPlaying(wasPlaying);
    statusBar()->showMessage(ok ? "exported " + request.path : "export cancelled: nothing was written", 6000);
    return ok;
}

CameraState CompareWindow::screenCamera() const {
    const VtkViewWidget* v = d_->panels.empty() ? nullptr : d_->panels.front().view;
    const double aspect = v && v->height() > 0 ? static_cast<double>(v->width()) / v->height() : 0;
    return CameraState::of(d_->camera, aspect);
}

QSize CompareWindow::pictureSize(int panel) const {
    if (panel >= 0) {
        const VtkViewWidget* v = view(panel);
        return v->size() * v->devicePixelRatioF();
    }
    return d_->viewsHost->size() * d_->viewsHost->devicePixelRatioF();
}

bool CompareWindow::savePicture(const QString& path, QSize size, int panel) {
    if (panel < -1 || panel >= panelCount()) {
        showError(QString("There is no panel %1.").arg(panel + 1));
        return false;
    }
    const QSize screen = pictureSize(panel);
    if (size.isEmpty()) size = screen;
    RunSnapshot run = RunSnapshot::of(*d_->runner);
    run.scenario = d_->scenario;
    // Panels still computing are drawn as they are on screen: the source at t = 0 until their first frame.
    for (std::size_t k = 0; k < run.frames.size() && k < d_->panels.size(); ++k)
        if (run.frames[k].empty() && d_->panels[k].sourceFrame) run.frames[k] = {d_->panels[k].sourceFrame};
    RenderSettings s;
    s.width = size.width();
    s.height = size.height();
    s.panel = panel;
    s.layers = d_->layers;
    s.camera = screenCamera();
    s.fixedRanges = d_->locked;
    // At the view size: the views' own point and text sizes (the picture is what the screen shows);
    // at another size they scale with the height.
    s.fontScale = size == screen ? devicePixelRatioF() : 0;
    try {
        tl::ui::savePicture(run, d_->t * d_->scenario.duration, path.toStdString(), s);
    } catch (const std::exception& e) {
        showError("Cannot save the picture:\n" + QString::fromUtf8(e.what()));
        return false;
    }
    statusBar()->showMessage(QString("saved %1 (%2 x %3)").arg(path).arg(size.width()).arg(size.height()), 6000);
    return true;
}

void CompareWindow::showSavePictureDialog() {
    const QSize screen = pictureSize(-1);
    QDialog dlg(this);
    dlg.setWindowTitle("Save picture");
    auto* form = new QFormLayout(&dlg);
    auto* sizes = new QComboBox(&dlg);
    sizes->addItem(QString("as on screen (%1 x %2)").arg(screen.width()).arg(screen.height()), screen);
    for (const QSize& z : {QSize(1280, 720), QSize(1920, 1080), QSize(3840, 2160)})
        sizes->addItem(QString("%1 x %2").arg(z.width()).arg(z.height()), z);
    form->addRow("size", sizes);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, &dlg);
    form->addRow(buttons);
    connect(buttons, &QDialogButtonBox::accepted, &dlg, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, &dlg, &QDialog::reject);
    if (dlg.exec() != QDialog::Accepted) return;
    const QSize size = sizes->currentData().toSize();
    const QString start = QDir(QString::fromStdString(d_->scenario.baseDir)).filePath("transportlab.png");
    QString p = QFileDialog::getSaveFileName(this, "Save picture", start, "PNG images (*.png)");
    if (p.isEmpty()) return;
    if (!p.endsWith(".png", Qt::CaseInsensitive)) p += ".png";
    savePicture(p, size);
}

// ------------------------------------------------------------------------------------------------
// input

void CompareWindow::keyPressEvent(QKeyEvent* e) {
    const double step = 1.0 / std::max(1, d_->scenario.frames - 1);
    switch (e->key()) {
    case Qt::Key_Space: setPlaying(!d_->playing); return;
    case Qt::Key_Right:
        setPlaying(false);
        setTime(d_->t + step);
        return;
    case Qt::Key_Left:
        setPlaying(false);
        setTime(d_->t - step);
        return;
    case Qt::Key_Home:
        setPlaying(false);
        setTime(0);
        return;
    case Qt::Key_End:
        setPlaying(false);
        setTime(1);
        return;
    default: QMainWindow::keyPressEvent(e);
    }
}

void CompareWindow::dragEnterEvent(QDragEnterEvent* e) {
    if (!e->mimeData()->hasUrls() || e->mimeData()->urls().isEmpty()) return;
    const QString p = e->mimeData()->urls().front().toLocalFile();
    if (p.endsWith(".json", Qt::CaseInsensitive) || MeasurePicker::acceptsFile(p)) e->acceptProposedAction();
}

void CompareWindow::dropEvent(QDropEvent* e) {
    if (!e->mimeData()->hasUrls() || e->mimeData()->urls().isEmpty()) return;
    openFile(e->mimeData()->urls().front().toLocalFile());
    e->acceptProposedAction();
}

void CompareWindow::closeEvent(QCloseEvent* e) {
    if (d_->modified && !d_->closeConfirmed) {
        // Not a blocking dialog: the event loop (and the compute updates) keep running while it is open.
        e->ignore();
        auto* box = new QMessageBox(QMessageBox::Warning, "TransportLab", "The scenario has unsaved changes.",
                                    QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel, this);
        box->setObjectName("unsavedChanges");
        box->setInformativeText("Save them before quitting?");
        box->setDefaultButton(QMessageBox::Save);
        box->setAttribute(Qt::WA_DeleteOnClose);
        connect(box, &QMessageBox::finished, this, [this, box](int) {
            const auto b = box->standardButton(box->clickedButton());
            if (b == QMessageBox::Cancel || b == QMessageBox::NoButton) return;
            if (b == QMessageBox::Save) {
                const QString p = QFileDialog::getSaveFileName(this, "Save scenario", QString::fromStdString(d_->scenario.baseDir), "Scenarios (*.json)");
                if (p.isEmpty() || !saveScenario(p.endsWith(".json") ? p : p + ".json")) return;
            }
            d_->closeConfirmed = true;
            QTimer::singleShot(0, this, &QWidget::close);
        });
        box->open();
        return;
    }
    d_->timer.stop();
    QMainWindow::closeEvent(e);
}

}  // namespace tl::ui
