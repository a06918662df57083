#include "widgets/compare_window.h"

#include <QCheckBox>
#include <QComboBox>
#include <QElapsedTimer>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QProgressBar>
#include <QSlider>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>
#include <atomic>
#include <cmath>

#include "engine/runner.h"
#include "scene/point_cloud_layer.h"
#include "scene/text_overlay.h"
#include "vtk/vtk_view_widget.h"

namespace tl::ui {

namespace {
const QColor kBackground(20, 22, 30);
const QColor kParticleColor(86, 160, 240);  // blue
const QColor kTargetColor(245, 146, 52);    // orange
constexpr double kSecondsPerRun = 4.0;      // t from 0 to 1 at 1x speed
}  // namespace

struct PanelView {
    VtkViewWidget* view = nullptr;
    std::unique_ptr<PointCloudLayer> particles, target;
    std::unique_ptr<TextOverlay> title, status;
    FramePtr shown;
    bool cameraSet = false;
};

struct CompareWindow::Impl {
    Scenario scenario;
    std::unique_ptr<Runner> runner;
    std::vector<PanelView> panels;
    QSlider* slider = nullptr;
    QToolButton* play = nullptr;
    QLabel* timeLabel = nullptr;
    QComboBox* speed = nullptr;
    QCheckBox* loop = nullptr;
    QProgressBar* progress = nullptr;
    QTimer timer;
    QElapsedTimer clock;
    double t = 0;
    bool playing = true;
    std::atomic<bool> updatePending{false};
    bool targetShown = false;
};

CompareWindow::CompareWindow(const Scenario& scenario, QWidget* parent) : QMainWindow(parent), d_(std::make_unique<Impl>()) {
    d_->scenario = scenario;
    setWindowTitle(QString::fromUtf8("TransportLab \u2014 ") + QString::fromStdString(scenario.name));
    auto* central = new QWidget(this);
    auto* outer = new QVBoxLayout(central);
    outer->setContentsMargins(0, 0, 0, 0);
    outer->setSpacing(0);
    auto* grid = new QGridLayout;
    grid->setSpacing(2);
    const int n = static_cast<int>(scenario.panels.size());
    const int cols = n <= 2 ? n : 2;
    d_->panels.resize(static_cast<std::size_t>(n));
    for (int k = 0; k < n; ++k) {
        PanelView& p = d_->panels[static_cast<std::size_t>(k)];
        p.view = new VtkViewWidget(central);
        p.view->setBackground(kBackground);
        p.view->setMinimumSize(320, 280);
        grid->addWidget(p.view, k / cols, k % cols);
        const double dpr = p.view->devicePixelRatioF();
        p.target = std::make_unique<PointCloudLayer>();
        p.target->setColor(kTargetColor);
        p.target->setPointSize(4.0 * dpr);
        p.target->setOpacity(0.45);
        p.particles = std::make_unique<PointCloudLayer>();
        p.particles->setColor(kParticleColor);
        p.particles->setPointSize(5.0 * dpr);
        const auto& spec = scenario.panels[static_cast<std::size_t>(k)];
        p.title = std::make_unique<TextOverlay>(QString::fromStdString(spec.title.empty() ? spec.dynamics : spec.title));
        p.title->setFontSize(16);
        p.title->setBold(true);
        p.title->attach(p.view->renderer());
        p.status = std::make_unique<TextOverlay>("computing\u2026", TextOverlay::Anchor::BottomLeft);
        p.status->setFontSize(12);
        p.status->setColor(QColor(200, 204, 214));
        p.status->attach(p.view->renderer());
    }
    outer->addLayout(grid, 1);

    auto* bar = new QHBoxLayout;
    bar->setContentsMargins(8, 4, 8, 4);
    d_->play = new QToolButton(central);
    d_->play->setText("Pause");
    d_->play->setToolTip("Play / pause (space)");
    d_->slider = new QSlider(Qt::Horizontal, central);
    d_->slider->setRange(0, scenario.frames - 1);
    d_->slider->setToolTip("Scrub (left / right arrows step one frame)");
    d_->timeLabel = new QLabel("t = 0.00", central);
    d_->timeLabel->setMinimumWidth(70);
    d_->speed = new QComboBox(central);
    d_->speed->addItems({"0.25x", "0.5x", "1x", "2x"});
    d_->speed->setCurrentIndex(2);
    d_->loop = new QCheckBox("loop", central);
    d_->loop->setChecked(true);
    d_->progress = new QProgressBar(central);
    d_->progress->setRange(0, 1000);
    d_->progress->setMaximumWidth(180);
    d_->progress->setFormat("computing %p%");
    bar->addWidget(d_->play);
    bar->addWidget(d_->slider, 1);
    bar->addWidget(d_->timeLabel);
    bar->addWidget(d_->speed);
    bar->addWidget(d_->loop);
    bar->addWidget(d_->progress);
    outer->addLayout(bar);
    setCentralWidget(central);

    connect(d_->play, &QToolButton::clicked, this, [this] { setPlaying(!d_->playing); });
    connect(d_->slider, &QSlider::sliderMoved, this, [this](int f) {
        setPlaying(false);
        setTime(static_cast<double>(f) / std::max(1, d_->scenario.frames - 1));
    });
    connect(&d_->timer, &QTimer::timeout, this, &CompareWindow::onTick);
    d_->timer.start(33);
    d_->clock.start();

    d_->runner = std::make_unique<Runner>(scenario);
    d_->runner->setUpdateCallback([this] {
        // From the compute thread: coalesce into one queued call on the GUI thread.
        if (!d_->updatePending.exchange(true)) QMetaObject::invokeMethod(this, "onRunnerUpdate", Qt::QueuedConnection);
    });
    d_->runner->start();
}

CompareWindow::~CompareWindow() {
    d_->timer.stop();
    d_->runner.reset();  // cancels and joins before the views go away
}

double CompareWindow::time() const { return d_->t; }
bool CompareWindow::isPlaying() const { return d_->playing; }

void CompareWindow::setPlaying(bool playing) {
    d_->playing = playing;
    d_->play->setText(playing ? "Pause" : "Play");
    d_->clock.restart();
}

bool CompareWindow::computationFinished() const {
    if (!d_->runner->error().empty()) return true;
    for (std::size_t k = 0; k < d_->panels.size(); ++k) {
        const auto st = d_->runner->status(k).state;
        if (st != PanelState::Done && st != PanelState::Failed) return false;
    }
    return true;
}

QString CompareWindow::samplingError() const { return QString::fromStdString(d_->runner->error()); }

void CompareWindow::onRunnerUpdate() {
    d_->updatePending = false;
    if (!d_->targetShown) {
        if (auto target = d_->runner->target()) {
            for (auto& p : d_->panels) {
                p.target->setPoints(target->cloud);
                p.target->attach(p.view->renderer());
            }
            d_->targetShown = true;
        }
    }
    double progress = 0;
    for (std::size_t k = 0; k < d_->panels.size(); ++k) progress += d_->runner->status(k).progress;
    d_->progress->setValue(static_cast<int>(1000 * progress / std::max<std::size_t>(1, d_->panels.size())));
    d_->progress->setVisible(!computationFinished());
    setTime(d_->t);
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
    if (!d_->slider->isSliderDown()) d_->slider->setValue(frame);
    d_->timeLabel->setText(QString("t = %1").arg(d_->t, 0, 'f', 2));
    for (std::size_t k = 0; k < d_->panels.size(); ++k) {
        PanelView& p = d_->panels[k];
        const PanelStatus st = d_->runner->status(k);
        FramePtr f = d_->runner->history(k)->atTime(d_->t);
        if (f && f != p.shown) {
            PointCloud pc;
            pc.dim = f->dim;
            pc.points = f->positions;
            pc.weights = f->weights;
            p.particles->setPoints(pc);
            if (!p.particles->renderer()) p.particles->attach(p.view->renderer());
            p.shown = f;
            if (!p.cameraSet) {
                p.view->resetCamera();
                p.cameraSet = true;
            }
        }
        QString text;
        if (st.state == PanelState::Failed) text = QString::fromUtf8("\u26A0 ") + QString::fromStdString(st.error);
        else if (st.state == PanelState::Done)
            text = QString("t = %1   NFE %2   straightness %3   divergence %4")
                       .arg(p.shown ? p.shown->t : 0.0, 0, 'f', 2)
                       .arg(st.summary.nfe)
                       .arg(st.summary.straightness, 0, 'g', 3)
                       .arg(st.finalDivergence, 0, 'g', 3);
        else text = QString("%1 (%2%)").arg(QString::fromStdString(st.stage)).arg(static_cast<int>(100 * st.progress));
        p.status->setText(text);
        p.view->requestRender();
    }
}

QImage CompareWindow::grabWindowImage() {
    setTime(d_->t);
    for (auto& p : d_->panels) p.view->grabImage();  // render each view now
    return grab().toImage();
}

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
        default: QMainWindow::keyPressEvent(e);
    }
}

}  // namespace tl::ui
