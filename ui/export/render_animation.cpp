#include "export/render_animation.h"

#include <QColor>
#include <QImage>
#include <algorithm>
#include <cmath>

#include "export/animation_writer.h"
#include "util/error.h"
#include "vtk/camera_fit.h"
#include "vtk/offscreen_view.h"

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
        return s;
    }
    if (st.state == PanelState::Cancelled) return t + "   (cancelled)";
    return QString("%1   %2 (%3%)").arg(t, QString::fromStdString(st.stage.empty() ? "waiting" : st.stage)).arg(static_cast<int>(100 * st.progress));
}

void panelGrid(int n, int* rows, int* cols) {
    n = std::max(n, 1);
    *cols = n <= 2 ? n : 2;
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

bool renderAnimation(const RunSnapshot& run, const std::string& path, const RenderSettings& s,
                     const std::function<bool(int, int)>& progress) {
    if (!(s.t0 >= 0 && s.t1 <= 1 && s.t0 <= s.t1)) throw Error("the time range must satisfy 0 <= from <= to <= 1");
    const int panels = static_cast<int>(run.frames.size());
    if (s.panel >= panels || s.panel < -1) throw Error("there is no panel " + std::to_string(s.panel + 1));
    std::vector<int> shown;
    if (s.panel >= 0) shown.push_back(s.panel);
    else
        for (int k = 0; k < panels; ++k) shown.push_back(k);
    for (int k : shown)
        if (run.frames[static_cast<std::size_t>(k)].empty()) {
            const auto& st = run.status[static_cast<std::size_t>(k)];
            throw Error("panel " + std::to_string(k + 1) + " (" + run.scenario.panels[static_cast<std::size_t>(k)].dynamics +
                        ") has no frames" + (st.error.empty() ? std::string() : ": " + st.error));
        }
    const std::vector<double> times = framesInRange(run.scenario, s);
    if (times.empty()) throw Error("no scenario frame lies in the chosen time range");

    int rows = 1, cols = 1;
    panelGrid(static_cast<int>(shown.size()), &rows, &cols);
    // Validate the output first (a bad path fails before any rendering), then the window.
    AnimationWriter writer(path, s.width, s.height, s.fps);
    OffscreenView view(s.width, s.height, rows, cols, QColor(20, 22, 30));
    std::vector<std::unique_ptr<PanelScene>> scenes;
    const double fontScale = std::clamp(s.height / static_cast<double>(rows) / 380.0, 0.6, 3.0);
    for (std::size_t v = 0; v < shown.size(); ++v) {
        const auto k = static_cast<std::size_t>(shown[v]);
        auto scene = std::make_unique<PanelScene>(view.renderer(static_cast<int>(v)), fontScale);
        scene->setFontScale(fontScale);
        scene->setOptions(s.layers);
        scene->setSource(run.source);
        scene->setTarget(run.target);
        const auto& spec = run.scenario.panels[k];
        scene->setTitle(QString::fromStdString(spec.title.empty() ? spec.dynamics : spec.title));
        scene->show(run.frames[k], 0.0);
        scenes.push_back(std::move(scene));
    }
    // One camera for all viewports, fitted to the union of the runs' bounds.
    double b[6] = {1, -1, 1, -1, 1, -1};
    bool any = false;
    for (auto& sc : scenes) {
        double bb[6];
        if (!sc->dataBounds(bb)) continue;
        for (int a = 0; a < 3; ++a) {
            b[2 * a] = any ? std::min(b[2 * a], bb[2 * a]) : bb[2 * a];
            b[2 * a + 1] = any ? std::max(b[2 * a + 1], bb[2 * a + 1]) : bb[2 * a + 1];
        }
        any = true;
    }
    const bool threeD = !scenes.empty() && scenes.front()->dim() == 3;
    if (any) fitCamera(view.renderer(0), view.viewportAspect(), 0.06, threeD, b);

    const int total = static_cast<int>(times.size());
    for (int i = 0; i < total; ++i) {
        for (std::size_t v = 0; v < shown.size(); ++v) {
            const auto k = static_cast<std::size_t>(shown[v]);
            FramePtr f = scenes[v]->show(run.frames[k], times[static_cast<std::size_t>(i)]);
            scenes[v]->setStatus(panelStatusText(run.status[k], f.get()));
        }
        if (threeD) view.renderer(0)->ResetCameraClippingRange();
        writer.addFrame(view.render());
        if (progress && !progress(i + 1, total)) {
            writer.cancel();
            return false;
        }
    }
    writer.finish();
    return true;
}

}  // namespace tl::ui
