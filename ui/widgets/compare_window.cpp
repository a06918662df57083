#include "widgets/compare_window.h"

#include <QAction>
#include <QApplication>
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
#include <QKeyEvent>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressDialog>
#include <QSettings>
#include <QSlider>
#include <QStatusBar>
#include <QTimer>
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
#include "widgets/layer_toolbar.h"
#include "widgets/measure_picker.h"
#include "widgets/metrics_panel.h"
#include "widgets/param_form.h"
#include "widgets/scenario_dock.h"
#include "widgets/timeline_bar.h"

namespace tl::ui {

namespace {

const QColor kBackground(20, 22, 30);

// Whether the linked camera still fits itself to the data (the views refit at most twice per run:
// to the first frames, then to the complete runs unless the user has moved the camera in between).
enum class CameraFit {
    Unfitted,     // fit at the next refresh that has data (new measures, panels, dimension; "fit view", R)
    FirstFrames,  // fitted to the first frames: refit once when the runs are complete
    UserMoved,    // fitted to the first frames, then moved by the user: keep the camera when complete
    Final,        // fitted to the complete runs (or kept as the user left it): no more refits
};

QString panelTitle(const PanelSpec& spec) { return QString::fromStdString(spec.title.empty() ? spec.dynamics : spec.title); }
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

struct CompareWindow::Impl {
    Scenario scenario;
    QString lastError;
    std::unique_ptr<Runner> runner;
    std::shared_ptr<RunnerLink> link;
    std::vector<std::jthread> reapers;  // old runners being cancelled and joined off the GUI thread
    std::vector<PanelView> panels;
    vtkNew<vtkCamera> camera;  // linked: every view looks through it
    CameraFit fit = CameraFit::Unfitted;
    int viewDim = 2;
    LayerOptions layers;

    QWidget* viewsHost = nullptr;
    QGridLayout* grid = nullptr;
    TimelineBar* timeline = nullptr;
    QTimer timer;
    QElapsedTimer clock;
    double t = 0;
    bool playing = true;

    ScenarioDock* dock = nullptr;
    MetricsPanel* metrics = nullptr;
    QMenu* recentMenu = nullptr;
    LayerToolbar* layerBar = nullptr;
    bool exporting = false;
    ColorRanges locked;      // the colour scale held while "lock colours" is on (0: shared per frame)
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

    d_->timeline = new TimelineBar(central);
    outer->addWidget(d_->timeline);
    setCentralWidget(central);

    connect(d_->timeline, &TimelineBar::playPauseClicked, this, [this] { setPlaying(!d_->playing); });
    connect(d_->timeline, &TimelineBar::stepClicked, this, [this](int dir) {
        setPlaying(false);
        setTime(d_->t + dir * 1.0 / std::max(1, d_->scenario.frames - 1));
    });
    connect(d_->timeline, &TimelineBar::frameScrubbed, this, [this](int f) {
        setPlaying(false);
        setTime(static_cast<double>(f) / std::max(1, d_->scenario.frames - 1));
    });
    connect(d_->timeline, &TimelineBar::cancelClicked, this, [this] { cancelComputation(); });
    connect(&d_->timer, &QTimer::timeout, this, &CompareWindow::onTick);

    // ---- layers toolbar ----
    d_->layerBar = new LayerToolbar(this);
    addToolBar(d_->layerBar);
    connect(d_->layerBar, &LayerToolbar::optionsChanged, this, [this](const LayerOptions& l) { setLayers(l); });
    connect(d_->layerBar, &LayerToolbar::colorScaleLockToggled, this, [this](bool on) {
        d_->locked = on ? d_->shared : ColorRanges{};
        refreshViews(true);
    });
    connect(d_->layerBar, &LayerToolbar::fitRequested, this, [this] {
        d_->fit = CameraFit::Unfitted;
        refreshViews(true);
    });

    // ---- scenario dock ----
    d_->dock = new ScenarioDock(this);
    addDockWidget(Qt::LeftDockWidgetArea, d_->dock);
    connect(d_->dock, &ScenarioDock::sourceEdited, this, [this](const QString& s) {
        setMeasures(s, QString::fromStdString(d_->scenario.target));
    });
    connect(d_->dock, &ScenarioDock::targetEdited, this, [this](const QString& s) {
        setMeasures(QString::fromStdString(d_->scenario.source), s);
    });
    connect(d_->dock, &ScenarioDock::framesEdited, this, [this](int n) {
        if (n == d_->scenario.frames) return;
        Scenario s = d_->scenario;
        s.frames = n;
        setScenario(s);
    });
    connect(d_->dock, &ScenarioDock::durationEdited, this, [this](double T) {
        if (std::abs(T - d_->scenario.duration) < 1e-12) return;
        Scenario s = d_->scenario;
        s.duration = T;
        setScenario(s);
    });
    connect(d_->dock, &ScenarioDock::addPanelClicked, this, [this] { addPanel("flow-matching"); });
    connect(d_->dock, &ScenarioDock::panelDynamicsEdited, this, &CompareWindow::setPanelDynamics);
    connect(d_->dock, &ScenarioDock::panelRemoveClicked, this, &CompareWindow::removePanel);
    connect(d_->dock, &ScenarioDock::panelParamsEdited, this, &CompareWindow::setPanelParams);
    connect(d_->dock, &ScenarioDock::panelTitleEdited, this, &CompareWindow::setPanelTitle);

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
    view->addAction(d_->dock->toggleViewAction());
    view->addAction(mdock->toggleViewAction());
    view->addAction(d_->layerBar->toggleViewAction());
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
    if (measuresChanged) d_->fit = CameraFit::Unfitted;
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
    d_->dock->showScenario(d_->scenario);
    d_->timeline->setFrameCount(d_->scenario.frames);

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
    d_->timeline->setProgress(0);
    d_->timeline->setComputing(true);
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
            if (d_->fit == CameraFit::FirstFrames) d_->fit = CameraFit::UserMoved;
            for (auto& q : d_->panels) q.view->requestRender();
        });
    }
    d_->fit = CameraFit::Unfitted;
    d_->dock->setCanAddPanel(n < kMaxGuiPanels);
}

void CompareWindow::buildPanelEditors() { d_->dock->showPanels(d_->scenario); }

void CompareWindow::setPanelParams(int panel, const ParamValues& values) {
    if (panel < 0 || panel >= static_cast<int>(d_->scenario.panels.size())) return;
    recordEdit();
    d_->scenario.panels[static_cast<std::size_t>(panel)].params = values;
    d_->dock->showPanelParams(panel, values);
    try {
        d_->runner->setPanelParams(static_cast<std::size_t>(panel), values);  // restarts only this panel
    } catch (const std::exception& e) {
        showError(QString::fromUtf8(e.what()));
    }
    d_->timeline->setComputing(true);
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
    d_->dock->showPanelTitle(panel, title);
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
    const CameraFit fit = d_->fit;
    if (d_->panels.size() != d_->scenario.panels.size()) {
        buildViews();
        d_->fit = fit;
    }
    for (std::size_t k = 0; k < d_->panels.size(); ++k) d_->panels[k].scene->setTitle(panelTitle(d_->scenario.panels[k]));
    buildPanelEditors();
    d_->timeline->setComputing(true);
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
        if (measuresChanged) d_->fit = CameraFit::Unfitted;
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
    if (!d_->dock->targetPicker()->setFile(QFileInfo(path).absoluteFilePath())) {
        showError(d_->dock->targetPicker()->error());
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
    d_->fit = CameraFit::Unfitted;
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

double CompareWindow::shownTime() const {
    // The frame under the slider handle: the views, the label, the chart cursor and saved pictures all
    // show this one time (the playhead d_->t moves continuously between frames while playing).
    const int last = std::max(1, d_->scenario.frames - 1);
    return static_cast<double>(std::lround(d_->t * last)) / last * d_->scenario.duration;
}

QSlider* CompareWindow::timeSlider() const { return d_->timeline->slider(); }
ColorRanges CompareWindow::colorRanges() const { return d_->shared; }
void CompareWindow::setColorScaleLocked(bool locked) { d_->layerBar->setColorScaleLocked(locked); }

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
    d_->timeline->setPlaying(playing);
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
    d_->layerBar->setOptions(layers);  // keep the toolbar in step (emits nothing)
    for (auto& p : d_->panels) p.scene->setOptions(layers);
    refreshViews(true);
}

LayerOptions CompareWindow::layers() const { return d_->layers; }
int CompareWindow::panelCount() const { return static_cast<int>(d_->panels.size()); }
VtkViewWidget* CompareWindow::view(int panel) const { return d_->panels.at(static_cast<std::size_t>(panel)).view; }
MetricsPanel* CompareWindow::metricsPanel() const { return d_->metrics; }
PanelScene* CompareWindow::panelScene(int panel) const { return d_->panels.at(static_cast<std::size_t>(panel)).scene.get(); }
MeasurePicker* CompareWindow::sourcePicker() const { return d_->dock->sourcePicker(); }
MeasurePicker* CompareWindow::targetPicker() const { return d_->dock->targetPicker(); }
ParamForm* CompareWindow::panelForm(int panel) const { return d_->dock->panelForm(panel); }

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
    d_->timeline->setProgress(progress / static_cast<double>(std::max<std::size_t>(1, n)));
    d_->timeline->setComputing(!computationFinished());
    d_->metrics->setRuns(frames, titles, status);
    refreshViews();
}

void CompareWindow::onTick() {
    if (!d_->playing) return;
    const double dt = d_->clock.restart() / 1000.0;
    double t = d_->t + d_->timeline->advance(dt);
    if (t > 1) {
        if (d_->timeline->loops()) t = 0;
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
    d_->timeline->showFrame(frame);
    // d_->t is the fraction of the run; the views, chart and label show the scenario time of the frame
    // under the handle (one time on screen, even while playing).
    const double tt = shownTime();
    d_->timeline->showTime(tt);
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
        FramePtr f = p.scene->show(frames, shownTime());
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
            d_->fit = CameraFit::Unfitted;
            for (auto& q : d_->panels)
                q.view->setInteraction(f->dim == 3 ? VtkViewWidget::Interaction::Trackball3D : VtkViewWidget::Interaction::Pan2D);
            // The density layer is a 2-D image (a KDE or the grid): in 3-D it is off, and says why.
            d_->layerBar->setDim(f->dim);
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
    const bool refit = d_->fit == CameraFit::Unfitted ||
                       (finished && (d_->fit == CameraFit::FirstFrames || d_->fit == CameraFit::UserMoved));
    if (refit) {
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
            if (d_->fit != CameraFit::UserMoved) d_->panels.front().view->resetCamera(fitMargin(d_->layers), axisRoomLeftPx(d_->layers), axisRoomBottomPx(d_->layers));
            d_->fit = finished ? CameraFit::Final : d_->fit == CameraFit::UserMoved ? CameraFit::UserMoved : CameraFit::FirstFrames;
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
        tl::ui::savePicture(run, shownTime(), path.toStdString(), s);
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
