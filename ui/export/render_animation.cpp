#include "export/render_animation.h"

#include <QColor>
#include <QImage>
#include <algorithm>
#include <cmath>

#include "export/animation_writer.h"
#include "util/error.h"
#include "vtk/camera_fit.h"
#include "vtk/offscreen_view.h"

#include <QSaveFile>
#include <vtkCamera.h>
#include <vtkRenderer.h>

namespace tl::ui {

RunSnapshot RunSnapshot::of(const Runner& runner) {
    RunSnapshot s;
    s.scenario = runner.scenario();
    s.source = runner.source();
    s.target = runner.target();
    for (std::size_t k = 0; k < runner.panelCount(); ++k) {
        s.frames.push_back(runner.history(k)->snapshot());
        s.status.push_back(runner.status(k));
    }
    return s;
}

QString panelStatusText(const PanelStatus& st, const Frame* shown) {
    if (st.state == PanelState::Failed) return QString::fromUtf8("\u26A0 ") + QString::fromStdString(st.error);
    const QString t = QString("t = %1").arg(shown ? shown->t : 0.0, 0, 'f', 2);
    if (st.state == PanelState::Done) {
        // Only the numbers this dynamics has (gradient flows have no NFE-straightness-divergence story).
        QString s = t;
        if (st.summary.nfe > 0) s += QString("   NFE %1").arg(st.summary.nfe);
        if (std::isfinite(st.summary.straightness)) s += QString("   straightness %1").arg(st.summary.straightness, 0, 'g', 3);
        if (std::isfinite(st.finalDivergence)) s += QString("   divergence %1").arg(st.finalDivergence, 0, 'g', 3);
        if (shown && std::isfinite(shown->metric("energy"))) s += QString("   energy %1").arg(shown->metric("energy"), 0, 'g', 4);
        if (shown && std::isfinite(shown->metric("loss"))) s += QString("   loss %1").arg(shown->metric("loss"), 0, 'g', 3);
        if (shown && std::isfinite(shown->metric("clusters"))) s += QString("   clusters %1").arg(shown->metric("clusters"));
        for (const auto& [key, v] : st.summary.extras)  // e.g. the closure's blow-up, once it has happened
            if (key == "closure_blow_up_time" && std::isfinite(v) && shown && shown->t >= v)
                s += QString("   closure blew up at t = %1").arg(v, 0, 'f', 3);
        if (!st.summary.warnings.empty()) s += QString::fromUtf8("   \u26A0 ") + QString::fromStdString(st.summary.warnings.front());
        return s;
    }
    if (st.state == PanelState::Cancelled) return t + "   (cancelled)";
    return QString("%1   %2 (%3%)").arg(t, QString::fromStdString(st.stage.empty() ? "waiting" : st.stage)).arg(static_cast<int>(100 * st.progress));
}

void panelGrid(int n, int* rows, int* cols) {
    n = std::max(n, 1);
    *cols = n <= 3 ? n : 2;
    *rows = (n + *cols - 1) / *cols;
}

namespace {
std::vector<double> framesInRange(const Scenario& scenario, const RenderSettings& s) {
    std::vector<double> out;
    for (double t : scenario.times())  // the range is a fraction of the duration
        if (t / scenario.duration >= s.t0 - 1e-12 && t / scenario.duration <= s.t1 + 1e-12) out.push_back(t);
    return out;
}
}  // namespace

int renderFrameCount(const Scenario& scenario, const RenderSettings& settings) {
    return static_cast<int>(framesInRange(scenario, settings).size());
}

CameraState CameraState::of(vtkCamera* c, double viewportAspect) {
    CameraState s;
    s.aspect = viewportAspect;
    c->GetPosition(s.position);
    c->GetFocalPoint(s.focalPoint);
    c->GetViewUp(s.viewUp);
    s.parallelScale = c->GetParallelScale();
    s.viewAngle = c->GetViewAngle();
    s.parallel = c->GetParallelProjection() != 0;
    return s;
}

void CameraState::applyTo(vtkCamera* c, double viewportAspect) const {
    const double widen = aspect > 0 && viewportAspect > 0 ? std::max(1.0, aspect / viewportAspect) : 1.0;
    double pos[3];
    for (int a = 0; a < 3; ++a) pos[a] = parallel ? position[a] : focalPoint[a] + widen * (position[a] - focalPoint[a]);
    c->SetPosition(pos);
    c->SetFocalPoint(focalPoint);
    c->SetViewUp(viewUp);
    c->SetParallelScale(parallelScale * (parallel ? widen : 1.0));
    c->SetViewAngle(viewAngle);
    c->SetParallelProjection(parallel ? 1 : 0);
}

namespace {

// The compare grid (or one panel) of a run in an offscreen window: the same PanelScene layers as the
// window, one camera (the given one, or fitted to the union of the runs' bounds).
class CompareRenderer {
public:
    CompareRenderer(const RunSnapshot& run, const RenderSettings& s) : run_(run), fixedRanges_(s.fixedRanges) {
        const int panels = static_cast<int>(run.frames.size());
        if (s.panel >= panels || s.panel < -1) throw Error("there is no panel " + std::to_string(s.panel + 1));
        if (s.panel >= 0) shown_.push_back(s.panel);
        else
            for (int k = 0; k < panels; ++k) shown_.push_back(k);
        for (int k : shown_)
            if (run.frames[static_cast<std::size_t>(k)].empty()) {
                const auto& st = run.status[static_cast<std::size_t>(k)];
                throw Error("panel " + std::to_string(k + 1) + " (" + run.scenario.panels[static_cast<std::size_t>(k)].dynamics +
                            ") has no frames" + (st.error.empty() ? std::string() : ": " + st.error));
            }
        int rows = 1, cols = 1;
        panelGrid(static_cast<int>(shown_.size()), &rows, &cols);
        view_ = std::make_unique<OffscreenView>(s.width, s.height, rows, cols, QColor(20, 22, 30));
        const double fontScale = s.fontScale > 0 ? s.fontScale : std::clamp(s.height / static_cast<double>(rows) / 380.0, 0.6, 3.0);
        for (std::size_t v = 0; v < shown_.size(); ++v) {
            const auto k = static_cast<std::size_t>(shown_[v]);
            auto scene = std::make_unique<PanelScene>(view_->renderer(static_cast<int>(v)), fontScale);
            scene->setFontScale(fontScale);
            scene->setOptions(s.layers);
            scene->setSource(run.source);
            scene->setTarget(run.target);
            const auto& spec = run.scenario.panels[k];
            scene->setTitle(QString::fromStdString(spec.title.empty() ? spec.dynamics : spec.title));
            scene->show(run.frames[k], 0.0);
            scenes_.push_back(std::move(scene));
        }
        threeD_ = !scenes_.empty() && scenes_.front()->dim() == 3;
        view_->setOrientationMarkers(threeD_);  // as on screen
        if (s.camera) {
            s.camera->applyTo(view_->camera(), view_->viewportAspect());
            return;
        }
        double b[6] = {1, -1, 1, -1, 1, -1};
        bool any = false;
        for (auto& sc : scenes_) {
            double bb[6];
            if (!sc->dataBounds(bb)) continue;
            for (int a = 0; a < 3; ++a) {
                b[2 * a] = any ? std::min(b[2 * a], bb[2 * a]) : bb[2 * a];
                b[2 * a + 1] = any ? std::max(b[2 * a + 1], bb[2 * a + 1]) : bb[2 * a + 1];
            }
            any = true;
        }
        // Room for the axis labels as on screen, in pixels of one viewport (labels scale with the font).
        const double vpW = static_cast<double>(s.width) / cols, vpH = static_cast<double>(s.height) / rows;
        if (any)
            fitCamera(view_->renderer(0), view_->viewportAspect(), fitMargin(s.layers), threeD_, b, axisRoomLeftPx(s.layers) * fontScale / vpW,
                      axisRoomBottomPx(s.layers) * fontScale / vpH);
    }

    QImage renderAt(double t) {
        for (std::size_t v = 0; v < shown_.size(); ++v) {
            const auto k = static_cast<std::size_t>(shown_[v]);
            FramePtr f = scenes_[v]->show(run_.frames[k], t);
            scenes_[v]->setStatus(panelStatusText(run_.status[k], f.get()));
        }
        // One colour, one value across the panels (as on screen).
        std::vector<PanelScene*> all;
        for (auto& sc : scenes_) all.push_back(sc.get());
        shareColorRanges(all, fixedRanges_);
        if (threeD_) view_->renderer(0)->ResetCameraClippingRange();
        return view_->render();
    }

private:
    const RunSnapshot& run_;
    std::vector<int> shown_;
    std::unique_ptr<OffscreenView> view_;
    std::vector<std::unique_ptr<PanelScene>> scenes_;
    bool threeD_ = false;
    ColorRanges fixedRanges_;
};

}  // namespace

bool renderAnimation(const RunSnapshot& run, const std::string& path, const RenderSettings& s,
                     const std::function<bool(int, int)>& progress) {
    if (!(s.t0 >= 0 && s.t1 <= 1 && s.t0 <= s.t1)) throw Error("the time range must satisfy 0 <= from <= to <= 1");
    const std::vector<double> times = framesInRange(run.scenario, s);
    if (times.empty()) throw Error("no scenario frame lies in the chosen time range");
    // Validate the output first (a bad path fails before any rendering), then the window.
    AnimationWriter writer(path, s.width, s.height, s.fps);
    CompareRenderer renderer(run, s);
    const int total = static_cast<int>(times.size());
    for (int i = 0; i < total; ++i) {
        writer.addFrame(renderer.renderAt(times[static_cast<std::size_t>(i)]));
        if (progress && !progress(i + 1, total)) {
            writer.cancel();
            return false;
        }
    }
    writer.finish();
    return true;
}

QImage renderPicture(const RunSnapshot& run, double t, const RenderSettings& s) {
    CompareRenderer renderer(run, s);
    return renderer.renderAt(t);
}

void savePicture(const RunSnapshot& run, double t, const std::string& path, const RenderSettings& s) {
    const QString target = QString::fromStdString(path);
    if (!target.endsWith(".png", Qt::CaseInsensitive)) throw Error("a picture is saved as PNG: give a path ending in .png");
    const QImage img = renderPicture(run, t, s);
    QSaveFile out(target);  // written to a temporary file, renamed on commit: all or nothing
    if (!out.open(QIODevice::WriteOnly)) throw Error("cannot write " + path + ": " + out.errorString().toStdString());
    if (!img.save(&out, "PNG") || !out.commit()) throw Error("cannot write " + path + ": " + out.errorString().toStdString());
}

}  // namespace tl::ui
